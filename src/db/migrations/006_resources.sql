-- The resource catalog: pools, buffers and booking rules, enforced by the database itself.
-- A resource id never registered here has no pool, no buffers and no rules: as before.

-- An interval made of time only (no days or months), whose length never depends on a time
-- zone or a calendar: buffers are such, so widening a window by them is immutable.
CREATE FUNCTION rsvp.is_fixed_length(i interval) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN extract(day FROM i) = 0 AND extract(month FROM i) = 0 AND extract(year FROM i) = 0;

CREATE TABLE rsvp.resources (
  id varchar(64) NOT NULL,
  pool varchar(64) NOT NULL DEFAULT '',
  time_zone text NOT NULL DEFAULT 'UTC',
  buffer_before interval NOT NULL DEFAULT '0',
  buffer_after interval NOT NULL DEFAULT '0',
  -- Each NULL = no limit.
  min_duration interval,
  max_duration interval,
  min_notice interval,
  max_advance interval,
  note text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT resources_pkey PRIMARY KEY (id),
  CONSTRAINT resources_id_not_empty CHECK (id <> ''),
  CONSTRAINT resources_durations_not_negative CHECK (
    buffer_before >= '0' AND buffer_after >= '0' AND min_duration >= '0'
    AND max_duration >= '0' AND min_notice >= '0' AND max_advance >= '0'
  ),
  CONSTRAINT resources_buffers_fixed_length CHECK (
    rsvp.is_fixed_length(buffer_before) AND rsvp.is_fixed_length(buffer_after)
  )
);
-- A pool's members in id order: the order a pool reserve tries them in.
CREATE INDEX resources_pool_idx ON rsvp.resources (pool, id) WHERE pool <> '';

-- A window widened by fixed-length buffers. Immutable because the buffers are checked to be
-- fixed-length (rsvp.is_fixed_length): then subtracting them never depends on a time zone.
CREATE FUNCTION rsvp.widen(span tstzrange, before interval, after interval) RETURNS tstzrange
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN tstzrange(lower(span) - before, upper(span) + after, '[)');

-- Each reservation carries the buffers of its resource as they were when its window was set,
-- and what it therefore occupies: its window widened by them, a generated column. The
-- exclusion constraint moves from the window to that column, so two live reservations of one
-- resource never have overlapping widened windows. A row written without the trigger below
-- (a bulk load as replica) gets buffers 0: occupied = timespan, as for an unregistered
-- resource. occupied always contains timespan, so no two live reservations of one resource
-- overlap in their own windows either.
ALTER TABLE rsvp.reservations
  ADD COLUMN buffer_before interval NOT NULL DEFAULT '0',
  ADD COLUMN buffer_after interval NOT NULL DEFAULT '0',
  ADD CONSTRAINT reservations_buffers_valid CHECK (
    buffer_before >= '0' AND buffer_after >= '0'
    AND rsvp.is_fixed_length(buffer_before) AND rsvp.is_fixed_length(buffer_after)
  );
ALTER TABLE rsvp.reservations
  ADD COLUMN occupied tstzrange GENERATED ALWAYS AS (rsvp.widen(timespan, buffer_before, buffer_after)) STORED;
ALTER TABLE rsvp.reservations DROP CONSTRAINT reservations_conflict;
ALTER TABLE rsvp.reservations ADD CONSTRAINT reservations_conflict
  EXCLUDE USING gist (resource_id WITH =, occupied WITH &&) WHERE (status <> 'cancelled');

-- "1d2h30m": a duration as the rule messages show it (whole seconds).
CREATE FUNCTION rsvp.duration_text(d interval) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (SELECT CASE WHEN s = 0 THEN '0s' ELSE concat(
            nullif(s / 86400, 0) || 'd', nullif(s % 86400 / 3600, 0) || 'h',
            nullif(s % 3600 / 60, 0) || 'm', nullif(s % 60, 0) || 's') END
            FROM (SELECT floor(extract(epoch FROM d))::bigint AS s) AS x);

-- The first booking rule of `res` that a window breaks, as a message naming it; NULL when it
-- meets them all (or res is NULL: an unregistered resource has no rules). Blocked windows
-- (maintenance) are exempt. now() is the transaction's start: one clock for a whole batch.
CREATE FUNCTION rsvp.broken_rule(res rsvp.resources, status rsvp.reservation_status, span tstzrange)
  RETURNS text
  LANGUAGE sql STABLE
  RETURN CASE
    WHEN res.id IS NULL OR status = 'blocked' THEN NULL
    WHEN upper(span) - lower(span) < res.min_duration THEN
      format('%s needs reservations of at least %s (min_duration)', res.id, rsvp.duration_text(res.min_duration))
    WHEN upper(span) - lower(span) > res.max_duration THEN
      format('%s takes reservations of at most %s (max_duration)', res.id, rsvp.duration_text(res.max_duration))
    WHEN lower(span) < now() + res.min_notice THEN
      format('%s needs at least %s notice (min_notice)', res.id, rsvp.duration_text(res.min_notice))
    WHEN lower(span) > now() + res.max_advance THEN
      format('%s cannot be booked more than %s ahead (max_advance)', res.id, rsvp.duration_text(res.max_advance))
  END;

-- A window widened by its resource's buffers (unchanged for an unregistered resource).
CREATE FUNCTION rsvp.widened(p_resource_id text, span tstzrange) RETURNS tstzrange
  LANGUAGE sql STABLE
  RETURN (SELECT rsvp.widen(span, coalesce(r.buffer_before, '0'), coalesce(r.buffer_after, '0'))
            FROM (SELECT 1) AS one LEFT JOIN rsvp.resources AS r ON r.id = p_resource_id);

-- Every write of a window passes here: it copies the resource's buffers onto the row (so what
-- it occupies follows) and refuses a window that breaks the resource's rules. A row whose
-- window did not change keeps its buffers, so a change of buffers applies to reservations made
-- or moved afterwards, never to those already made (they keep what they were sold with).
CREATE FUNCTION rsvp.apply_resource() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  res rsvp.resources;
  broken text;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.timespan = OLD.timespan THEN
    RETURN NEW;
  END IF;
  SELECT * INTO res FROM rsvp.resources WHERE id = NEW.resource_id;
  IF NOT FOUND THEN
    NEW.buffer_before := '0';
    NEW.buffer_after := '0';
    RETURN NEW;
  END IF;
  NEW.buffer_before := res.buffer_before;
  NEW.buffer_after := res.buffer_after;
  broken := rsvp.broken_rule(res, NEW.status, NEW.timespan);
  IF broken IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = broken;
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER reservations_apply_resource
  BEFORE INSERT OR UPDATE OF timespan ON rsvp.reservations
  FOR EACH ROW EXECUTE FUNCTION rsvp.apply_resource();

-- Expired holds in the way of the (widened) windows asked for. The caller holds the locks.
CREATE OR REPLACE FUNCTION rsvp.release_expired_in_way(p_requests jsonb) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  released bigint;
BEGIN
  UPDATE rsvp.reservations AS x SET status = 'cancelled', updated_at = now()
    FROM jsonb_to_recordset(p_requests) AS q(resource_id text, start_at timestamptz, end_at timestamptz)
   WHERE x.resource_id = q.resource_id AND x.status = 'pending' AND x.expires_at <= now()
     AND x.occupied && rsvp.widened(q.resource_id, tstzrange(q.start_at, q.end_at, '[)'));
  GET DIAGNOSTICS released = ROW_COUNT;
  RETURN released;
END;
$$;

-- rsvp.lock_keys as in 003, in plpgsql: a SQL function that cannot be inlined is planned again
-- on every call (about 60 µs, a tenth of a one-row reserve); plpgsql keeps its plan for the
-- session. Same locks, same order.
CREATE OR REPLACE FUNCTION rsvp.lock_keys(p_keys text[]) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM count(pg_advisory_xact_lock(7397, h))
     FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(p_keys) AS k ORDER BY 1) AS ordered;
END;
$$;

-- rsvp.reserve as in 004, plus one outcome: 'rule' (out_message names the broken rule). Rules
-- are checked under the resources' locks, which PutResource takes too, so the trigger never
-- refuses a row here and one request's broken rule never fails the others of its batch.
-- Each statement of a plpgsql function costs a fixed amount however few rows it touches, so
-- the common case (no idempotency key, nothing refused, nothing in the way) runs three: the
-- locks, the rules, and the insert, which answers straight from its RETURNING.
DROP FUNCTION rsvp.reserve(jsonb);
CREATE FUNCTION rsvp.reserve(p_requests jsonb)
  RETURNS TABLE (out_request uuid, out_kind text, out_row rsvp.reservations, out_message text)
  LANGUAGE plpgsql AS $$
DECLARE
  total integer := jsonb_array_length(p_requests);
  keyed boolean := jsonb_path_exists(p_requests, '$[*].request_id ? (@ != null)');
  replayed uuid[] := '{}';
  refused uuid[] := '{}';
  answered bigint;
  made bigint;
BEGIN
  PERFORM rsvp.lock_keys(array_agg(k)) FROM (
    SELECT q.resource_id AS k FROM jsonb_to_recordset(p_requests) AS q(resource_id text)
    UNION ALL
    SELECT 'request:' || q.user_id || ':' || q.request_id
      FROM jsonb_to_recordset(p_requests) AS q(user_id text, request_id text)
     WHERE q.request_id IS NOT NULL) AS keys;

  IF keyed THEN
    -- One primary-key lookup per request: LIMIT 1 keeps the planner from turning it into a
    -- join hashed over the whole key table, which it did with ~20,000 keys whether statistics
    -- were fresh or stale (the embedded database never refreshes them by itself).
    RETURN QUERY
      SELECT q.id, CASE WHEN k.request_hash = q.request_hash THEN 'replayed' ELSE 'mismatch' END, r.x,
             NULL::text
        FROM jsonb_to_recordset(p_requests) AS q(id uuid, user_id text, request_id text, request_hash text)
        CROSS JOIN LATERAL (
          SELECT y.request_hash, y.reservation_id FROM rsvp.reserve_requests AS y
           WHERE y.user_id = q.user_id AND y.request_id = q.request_id LIMIT 1) AS k
        CROSS JOIN LATERAL (
          SELECT x FROM rsvp.reservations AS x WHERE x.id = k.reservation_id LIMIT 1) AS r;
    SELECT coalesce(array_agg(q.id), '{}') INTO replayed
      FROM jsonb_to_recordset(p_requests) AS q(id uuid, user_id text, request_id text)
     CROSS JOIN LATERAL (
       SELECT 1 FROM rsvp.reserve_requests AS y
        WHERE y.user_id = q.user_id AND y.request_id = q.request_id LIMIT 1) AS k;
  END IF;

  -- Rules before clashes: a window that breaks one is refused whether or not it is free.
  RETURN QUERY
    SELECT q.id, 'rule', NULL::rsvp.reservations, b.message
      FROM jsonb_to_recordset(p_requests)
        AS q(id uuid, resource_id text, status rsvp.reservation_status,
             start_at timestamptz, end_at timestamptz)
      JOIN rsvp.resources AS res ON res.id = q.resource_id
     CROSS JOIN LATERAL (
       SELECT rsvp.broken_rule(res, q.status, tstzrange(q.start_at, q.end_at, '[)')) AS message) AS b
     WHERE b.message IS NOT NULL AND q.id <> ALL (replayed);
  GET DIAGNOSTICS answered = ROW_COUNT;
  IF answered > 0 THEN
    SELECT array_agg(q.id) INTO refused
      FROM jsonb_to_recordset(p_requests)
        AS q(id uuid, resource_id text, status rsvp.reservation_status,
             start_at timestamptz, end_at timestamptz)
      JOIN rsvp.resources AS res ON res.id = q.resource_id
     WHERE rsvp.broken_rule(res, q.status, tstzrange(q.start_at, q.end_at, '[)')) IS NOT NULL
       AND q.id <> ALL (replayed);
  END IF;
  answered := cardinality(replayed) + cardinality(refused);

  -- Each request's id is new, so a request was made here exactly when a row has its id: a
  -- second attempt skips those through the primary key, and the answers count them.
  FOR attempt IN 1..2 LOOP
    RETURN QUERY
      WITH ins AS (
        INSERT INTO rsvp.reservations AS t (id, user_id, resource_id, status, timespan, note, expires_at)
        SELECT q.id, q.user_id, q.resource_id, q.status, tstzrange(q.start_at, q.end_at, '[)'), q.note,
               COALESCE(q.expires_at, now() + make_interval(secs => q.hold_seconds))
          FROM ROWS FROM (jsonb_to_recordset(p_requests)
                 AS (id uuid, user_id text, resource_id text, status rsvp.reservation_status,
                     start_at timestamptz, end_at timestamptz, note text, expires_at timestamptz,
                     hold_seconds double precision))
               WITH ORDINALITY
                 AS q(id, user_id, resource_id, status, start_at, end_at, note, expires_at,
                      hold_seconds, ord)
         WHERE q.id <> ALL (replayed) AND q.id <> ALL (refused)
         ORDER BY q.ord
        ON CONFLICT DO NOTHING
        RETURNING t
      )
      SELECT (ins.t).id, 'created', ins.t, NULL::text FROM ins;
    GET DIAGNOSTICS made = ROW_COUNT;
    answered := answered + made;
    -- Everything in: done. Otherwise an expired hold may stand in the way: release, retry once.
    EXIT WHEN answered = total OR attempt = 2;
    EXIT WHEN rsvp.release_expired_in_way(p_requests) = 0;
  END LOOP;

  IF answered < total THEN
    RETURN QUERY
      SELECT q.id, 'conflict', c.found, NULL::text
        FROM jsonb_to_recordset(p_requests)
          AS q(id uuid, resource_id text, start_at timestamptz, end_at timestamptz)
        CROSS JOIN LATERAL (
          SELECT x AS found FROM rsvp.reservations AS x
           WHERE x.resource_id = q.resource_id AND x.status <> 'cancelled' AND x.id <> q.id
             AND x.occupied && rsvp.widened(q.resource_id, tstzrange(q.start_at, q.end_at, '[)'))
           ORDER BY lower(x.timespan)
           LIMIT 1
        ) AS c
        -- Made here: a primary-key probe per request (LIMIT 1, as above: never a hash join).
        LEFT JOIN LATERAL (
          SELECT true AS made FROM rsvp.reservations AS y WHERE y.id = q.id LIMIT 1) AS m ON true
       WHERE q.id <> ALL (replayed) AND q.id <> ALL (refused) AND m.made IS NULL;
  END IF;

  IF keyed THEN
    INSERT INTO rsvp.reserve_requests (user_id, request_id, request_hash, reservation_id)
    SELECT q.user_id, q.request_id, q.request_hash, q.id
      FROM jsonb_to_recordset(p_requests) AS q(id uuid, user_id text, request_id text, request_hash text)
     CROSS JOIN LATERAL (
       SELECT 1 FROM rsvp.reservations AS y WHERE y.id = q.id LIMIT 1) AS made
     WHERE q.request_id IS NOT NULL
    ON CONFLICT DO NOTHING;
  END IF;
END;
$$;

-- rsvp.update as in 003, treating expired holds as reserve and confirm do: its own expired
-- hold is released instead of moved (the caller gets 'cancelled'), and expired holds in the
-- way of a move are released under the resource's lock. Plus one outcome: 'rule'
-- (out_message names the broken rule) when the new window
-- breaks one; a move clashes when its widened window meets another's.
DROP FUNCTION rsvp.update(uuid, text, timestamptz, timestamptz);
CREATE FUNCTION rsvp.update(p_id uuid, p_note text, p_start timestamptz, p_end timestamptz)
  RETURNS TABLE (out_kind text, out_row rsvp.reservations, out_message text)
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation(p_id);
  span tstzrange := CASE WHEN p_start IS NULL THEN cur.timespan ELSE tstzrange(p_start, p_end, '[)') END;
  broken text;
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status = 'pending' AND cur.expires_at <= now() THEN
    UPDATE rsvp.reservations SET status = 'cancelled', updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  IF cur.status = 'cancelled' THEN
    RETURN QUERY SELECT 'cancelled', cur, NULL::text;
    RETURN;
  END IF;
  IF cur.note IS NOT DISTINCT FROM COALESCE(p_note, cur.note) AND cur.timespan = span THEN
    RETURN QUERY SELECT 'unchanged', cur, NULL::text;
    RETURN;
  END IF;
  IF cur.timespan <> span THEN
    SELECT rsvp.broken_rule(r, cur.status, span) INTO broken
      FROM rsvp.resources AS r WHERE r.id = cur.resource_id;
    IF broken IS NOT NULL THEN
      RETURN QUERY SELECT 'rule', cur, broken;
      RETURN;
    END IF;
    PERFORM rsvp.release_expired_in_way(jsonb_build_array(jsonb_build_object(
      'resource_id', cur.resource_id, 'start_at', lower(span), 'end_at', upper(span))));
  END IF;
  BEGIN
    UPDATE rsvp.reservations
       SET note = COALESCE(p_note, note), timespan = span, updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  EXCEPTION WHEN exclusion_violation THEN
    RETURN QUERY SELECT 'conflict', x, NULL::text FROM rsvp.reservations AS x
      WHERE x.resource_id = cur.resource_id AND x.status <> 'cancelled' AND x.id <> p_id
        AND x.occupied && rsvp.widened(cur.resource_id, span)
      ORDER BY lower(x.timespan) LIMIT 1;
    RETURN;
  END;
  RETURN QUERY SELECT 'updated', cur, NULL::text;
END;
$$;

-- Creates or replaces a resource under its lock, so that no reserve of it is half-way through
-- a check of the rules this replaces.
CREATE FUNCTION rsvp.put_resource(
  p_id text, p_pool text, p_time_zone text, p_buffer_before interval, p_buffer_after interval,
  p_min_duration interval, p_max_duration interval, p_min_notice interval,
  p_max_advance interval, p_note text)
  RETURNS SETOF rsvp.resources
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rsvp.lock_resource(p_id);
  RETURN QUERY
    INSERT INTO rsvp.resources AS r (id, pool, time_zone, buffer_before, buffer_after, min_duration,
                                     max_duration, min_notice, max_advance, note)
    VALUES (p_id, p_pool, p_time_zone, p_buffer_before, p_buffer_after, p_min_duration,
            p_max_duration, p_min_notice, p_max_advance, p_note)
    ON CONFLICT (id) DO UPDATE
      SET pool = EXCLUDED.pool, time_zone = EXCLUDED.time_zone,
          buffer_before = EXCLUDED.buffer_before, buffer_after = EXCLUDED.buffer_after,
          min_duration = EXCLUDED.min_duration, max_duration = EXCLUDED.max_duration,
          min_notice = EXCLUDED.min_notice, max_advance = EXCLUDED.max_advance,
          note = EXCLUDED.note, updated_at = now()
    RETURNING r.*;
END;
$$;

-- Deletes a resource under its lock. Output: 'deleted', 'missing', or 'busy' while a live
-- reservation of it has not ended (its reservations stay; the id then behaves as unregistered).
CREATE FUNCTION rsvp.delete_resource(p_id text) RETURNS text
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rsvp.lock_resource(p_id);
  IF EXISTS (SELECT 1 FROM rsvp.reservations
              WHERE resource_id = p_id AND status <> 'cancelled' AND upper(timespan) > now()
                AND (expires_at IS NULL OR expires_at > now())) THEN
    RETURN 'busy';
  END IF;
  DELETE FROM rsvp.resources WHERE id = p_id;
  RETURN CASE WHEN FOUND THEN 'deleted' ELSE 'missing' END;
END;
$$;

-- Reservations made together (a group or a series) share a group id.
ALTER TABLE rsvp.reservations ADD COLUMN group_id uuid;
CREATE INDEX reservations_group_id_idx ON rsvp.reservations (group_id, lower(timespan), id)
  WHERE group_id IS NOT NULL;
-- listen events carry the group id too: the change log records it (record_change as in 003,
-- plus group_id).
ALTER TABLE rsvp.reservation_changes ADD COLUMN group_id uuid;
CREATE OR REPLACE FUNCTION rsvp.record_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  kind rsvp.reservation_update_type;
  r rsvp.reservations;
BEGIN
  IF TG_OP = 'INSERT' THEN
    kind := 'create';
    r := NEW;
  ELSIF TG_OP = 'DELETE' THEN
    kind := 'delete';
    r := OLD;
  ELSIF NEW.status = 'cancelled' AND OLD.status <> 'cancelled' THEN
    kind := 'delete';
    r := NEW;
  ELSIF NEW.status IS DISTINCT FROM OLD.status OR NEW.timespan IS DISTINCT FROM OLD.timespan
        OR NEW.note IS DISTINCT FROM OLD.note OR NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
    kind := 'update';
    r := NEW;
  ELSE
    RETURN NULL;
  END IF;
  INSERT INTO rsvp.reservation_changes
         (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at, expires_at,
          group_id)
  VALUES (kind, r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
          r.updated_at, r.expires_at, r.group_id);
  RETURN NULL;
END;
$$;
-- An idempotency key of a group remembers all it made, in item order.
ALTER TABLE rsvp.reserve_requests ADD COLUMN reservation_ids uuid[];

-- One item of rsvp.reserve_group, as it works through them.
CREATE TYPE rsvp.group_item AS (
  ord integer, id uuid, user_id text, resource_id text, pool text,
  status rsvp.reservation_status, span tstzrange, note text, expires_at timestamptz
);

-- Reserves items that must succeed together: a group, a series, or a single pool reserve.
-- Input: a JSON array of {id, user_id, resource_id | pool, status, start_at, end_at, note,
-- expires_at?, hold_seconds?}; the items get p_group_id. Output rows, out_item = the item's
-- 0-based position:
--   'created' (out_row = the new row), or, when nothing was written:
--   'rule'    (out_message names the broken rule; rules are checked before clashes),
--   'empty'   (out_message = a pool with no resources),
--   'conflict' (out_row = a live row in the way, out_message = the pool for a pool item),
--   'replayed' / 'mismatch' (p_request_id was used before; out_row = what it made).
-- With p_skip_conflicts, clashing items are reported as 'skipped' and the others kept.
-- Every resource an item could land on is locked first, in one fixed order, so groups
-- racing over the same resources in any order never deadlock; an item of a pool tries the
-- pool's members that meet its rules in id order, each insert judged by the constraint.
CREATE FUNCTION rsvp.reserve_group(p_items jsonb, p_group_id uuid, p_user_id text,
                                   p_request_id text, p_request_hash text, p_skip_conflicts boolean)
  RETURNS TABLE (out_item integer, out_kind text, out_row rsvp.reservations, out_message text)
  LANGUAGE plpgsql AS $$
DECLARE
  items rsvp.group_item[];
  item rsvp.group_item;
  member record;
  ins rsvp.reservations;
  clash rsvp.reservations;
  created rsvp.reservations[] := '{}';
  created_items integer[] := '{}';
  clashes rsvp.reservations[] := '{}';
  clash_items integer[] := '{}';
  clash_pools text[] := '{}';
  prior rsvp.reserve_requests;
  members text[];
BEGIN
  SELECT array_agg(ROW(q.ord - 1, q.id, q.user_id, q.resource_id, q.pool, q.status,
                       tstzrange(q.start_at, q.end_at, '[)'), q.note,
                       COALESCE(q.expires_at, now() + make_interval(secs => q.hold_seconds)))::rsvp.group_item
                   ORDER BY q.ord)
    INTO items
    FROM ROWS FROM (jsonb_to_recordset(p_items)
           AS (id uuid, user_id text, resource_id text, pool text, status rsvp.reservation_status,
               start_at timestamptz, end_at timestamptz, note text, expires_at timestamptz,
               hold_seconds double precision))
         WITH ORDINALITY AS q(id, user_id, resource_id, pool, status, start_at, end_at, note,
                              expires_at, hold_seconds, ord);

  -- Lock every resource named and every member of every pool named, as read now. Pool items
  -- use only the members locked here that are still in their pool: one that joins meanwhile
  -- is not considered, one that leaves is dropped.
  SELECT coalesce(array_agg(DISTINCT r.id), '{}') INTO members
    FROM rsvp.resources AS r WHERE r.pool IN (SELECT i.pool FROM unnest(items) AS i);
  PERFORM rsvp.lock_keys(array_agg(k)) FROM (
    SELECT i.resource_id AS k FROM unnest(items) AS i WHERE i.resource_id IS NOT NULL
    UNION ALL
    SELECT unnest(members)
    UNION ALL
    SELECT 'request:' || p_user_id || ':' || p_request_id WHERE p_request_id IS NOT NULL) AS keys;

  IF p_request_id IS NOT NULL THEN
    SELECT * INTO prior FROM rsvp.reserve_requests AS k
     WHERE k.user_id = p_user_id AND k.request_id = p_request_id;
    IF FOUND THEN
      RETURN QUERY
        SELECT (o.n - 1)::integer,
               CASE WHEN prior.request_hash = p_request_hash THEN 'replayed' ELSE 'mismatch' END,
               r, NULL::text
          FROM unnest(coalesce(prior.reservation_ids, ARRAY[prior.reservation_id]))
               WITH ORDINALITY AS o(id, n)
          JOIN rsvp.reservations AS r ON r.id = o.id
         ORDER BY o.n;
      RETURN;
    END IF;
  END IF;

  -- Pools with no resources at all.
  RETURN QUERY
    SELECT i.ord, 'empty', NULL::rsvp.reservations, i.pool FROM unnest(items) AS i
     WHERE i.pool IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM rsvp.resources AS r WHERE r.pool = i.pool AND r.id = ANY (members));
  IF FOUND THEN
    RETURN;
  END IF;

  -- Rules before clashes, for the whole group: a resource item that breaks one, or a pool
  -- item whose window no member's rules accept (the first member's broken rule is named).
  RETURN QUERY
    SELECT i.ord, 'rule', NULL::rsvp.reservations, b.message
      FROM unnest(items) AS i
      CROSS JOIN LATERAL (
        SELECT m.message FROM (
          SELECT r.id, rsvp.broken_rule(r, i.status, i.span) AS message
            FROM rsvp.resources AS r
           WHERE r.id = i.resource_id OR (r.pool = i.pool AND r.id = ANY (members))) AS m
         WHERE m.message IS NOT NULL ORDER BY m.id LIMIT 1
      ) AS b
     WHERE i.resource_id IS NOT NULL
        OR NOT EXISTS (SELECT 1 FROM rsvp.resources AS r
                        WHERE r.pool = i.pool AND r.id = ANY (members)
                          AND rsvp.broken_rule(r, i.status, i.span) IS NULL);
  IF FOUND THEN
    RETURN;
  END IF;

  -- Expired holds in the way of any candidate are released (a write of its own: kept).
  PERFORM rsvp.release_expired_in_way(jsonb_agg(jsonb_build_object(
            'resource_id', c.rid, 'start_at', lower(c.span), 'end_at', upper(c.span))))
     FROM (SELECT i.resource_id AS rid, i.span FROM unnest(items) AS i WHERE i.resource_id IS NOT NULL
           UNION ALL
           SELECT r.id, i.span FROM unnest(items) AS i
             JOIN rsvp.resources AS r ON r.pool = i.pool AND r.id = ANY (members)) AS c;

  BEGIN
    FOREACH item IN ARRAY items LOOP
      ins := NULL;
      FOR member IN
        SELECT item.resource_id AS id WHERE item.resource_id IS NOT NULL
        UNION ALL
        (SELECT r.id FROM rsvp.resources AS r
          WHERE r.pool = item.pool AND r.id = ANY (members)
            AND rsvp.broken_rule(r, item.status, item.span) IS NULL
          ORDER BY r.id)
      LOOP
        INSERT INTO rsvp.reservations AS t
               (id, user_id, resource_id, status, timespan, note, expires_at, group_id)
        VALUES (item.id, item.user_id, member.id, item.status, item.span, item.note,
                item.expires_at, p_group_id)
        ON CONFLICT DO NOTHING
        RETURNING t.* INTO ins;
        EXIT WHEN ins.id IS NOT NULL;
      END LOOP;
      IF ins.id IS NOT NULL THEN
        created := created || ins;
        created_items := created_items || item.ord;
      ELSE
        -- What stands in the way: for a pool, on its first member that accepts the window.
        SELECT x.* INTO clash FROM rsvp.reservations AS x
         WHERE x.resource_id = coalesce(item.resource_id,
                 (SELECT r.id FROM rsvp.resources AS r
                   WHERE r.pool = item.pool AND r.id = ANY (members)
                     AND rsvp.broken_rule(r, item.status, item.span) IS NULL
                   ORDER BY r.id LIMIT 1))
           AND x.status <> 'cancelled'
           AND x.occupied && rsvp.widened(x.resource_id, item.span)
         ORDER BY lower(x.timespan) LIMIT 1;
        clashes := clashes || clash;
        clash_items := clash_items || item.ord;
        clash_pools := clash_pools || item.pool;
      END IF;
    END LOOP;
    IF cardinality(clash_items) > 0 AND NOT p_skip_conflicts THEN
      RAISE EXCEPTION USING ERRCODE = 'RV001', MESSAGE = 'rsvp: group rolled back';
    END IF;
  EXCEPTION WHEN SQLSTATE 'RV001' THEN
    -- Undoes every insert of the group; the variables keep what to report.
    created := '{}';
    created_items := '{}';
  END;

  RETURN QUERY
    SELECT clash_items[n], CASE WHEN p_skip_conflicts THEN 'skipped' ELSE 'conflict' END,
           clashes[n], clash_pools[n]
      FROM generate_subscripts(clash_items, 1) AS n ORDER BY n;
  RETURN QUERY
    SELECT created_items[n], 'created', created[n], NULL::text
      FROM generate_subscripts(created_items, 1) AS n ORDER BY n;

  IF p_request_id IS NOT NULL AND cardinality(created) > 0 THEN
    INSERT INTO rsvp.reserve_requests (user_id, request_id, request_hash, reservation_id, reservation_ids)
    VALUES (p_user_id, p_request_id, p_request_hash, (created[1]).id,
            ARRAY(SELECT c.id FROM unnest(created) AS c))
    ON CONFLICT DO NOTHING;
  END IF;
END;
$$;

-- "This and following": cancels a reservation and every live one of its group that starts at
-- or after it, in one transaction; p_user_id (when set) keeps the cascade to that owner's.
-- A group's resources never change, so they are read first and then all locked in one fixed
-- order, as every other writer locks them. Returns the reservation itself; no row if unknown.
CREATE FUNCTION rsvp.cancel_following(p_id uuid, p_user_id text) RETURNS SETOF rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations;
BEGIN
  SELECT * INTO cur FROM rsvp.reservations WHERE id = p_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF cur.group_id IS NULL THEN
    RETURN QUERY SELECT * FROM rsvp.cancel(p_id);
    RETURN;
  END IF;
  PERFORM rsvp.lock_keys(array_agg(DISTINCT g.resource_id))
     FROM rsvp.reservations AS g WHERE g.group_id = cur.group_id;
  SELECT * INTO cur FROM rsvp.reservations WHERE id = p_id;
  UPDATE rsvp.reservations AS g SET status = 'cancelled', updated_at = now()
   WHERE g.group_id = cur.group_id AND g.status <> 'cancelled'
     AND lower(g.timespan) >= lower(cur.timespan)
     AND (g.id = p_id OR p_user_id IS NULL OR g.user_id = p_user_id);
  RETURN QUERY SELECT * FROM rsvp.reservations WHERE id = p_id;
END;
$$;
