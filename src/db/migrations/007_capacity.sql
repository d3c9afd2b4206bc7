-- Counted capacity and per-user quotas, enforced by the database as the no-overlap rule is.
--
-- A resource of capacity 0 or 1 is exclusive: the exclusion constraint guards it exactly as
-- before. A counted resource (capacity > 1) holds reservations of several units each; at every
-- instant the units of its live reservations (windows widened by buffers) add up to at most its
-- capacity. That sum is checked by the BEFORE trigger every write of a window or quantity passes
-- (rsvp.apply_resource), under the resource's advisory lock, which every writer takes before it
-- writes: reserve, update, reserve_group (pool reserve, reserveAll, reserveSeries) and
-- put_resource alike. A reservation refused there is skipped (an insert) or raised (an update),
-- and the caller reports why.

ALTER TABLE rsvp.resources
  ADD COLUMN capacity integer NOT NULL DEFAULT 0,
  -- A quota: at most quota_max_reservations (0 = no limit) live reservations and at most
  -- quota_max_time (NULL = no limit) of booked time per user whose start falls in one period
  -- (NULL = no quota) in the resource's time zone; per_pool counts its whole pool.
  ADD COLUMN quota_period text,
  ADD COLUMN quota_max_reservations integer NOT NULL DEFAULT 0,
  ADD COLUMN quota_max_time interval,
  ADD COLUMN quota_per_pool boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT resources_capacity_valid CHECK (capacity >= 0),
  ADD CONSTRAINT resources_quota_valid CHECK (
    quota_period IN ('day', 'week', 'month') AND quota_max_reservations >= 0
    AND quota_max_time >= '0'
  );

-- quantity: the units a reservation takes (a blocked one takes the whole capacity). exclusive:
-- true on a row of an exclusive resource, NULL on a counted one. The exclusion constraint
-- compares it with =, and NULL equals nothing, so counted rows never clash through it while
-- exclusive rows clash exactly as before. Kept in the constraint's columns rather than its
-- WHERE, so the constraint's index still serves every "status <> 'cancelled'" lookup.
ALTER TABLE rsvp.reservations
  ADD COLUMN quantity integer NOT NULL DEFAULT 1,
  ADD COLUMN exclusive boolean DEFAULT true,
  ADD CONSTRAINT reservations_quantity_valid CHECK (quantity >= 1 AND exclusive);
ALTER TABLE rsvp.reservations DROP CONSTRAINT reservations_conflict;
ALTER TABLE rsvp.reservations ADD CONSTRAINT reservations_conflict
  EXCLUDE USING gist (resource_id WITH =, occupied WITH &&, exclusive WITH =)
  WHERE (status <> 'cancelled');

-- listen events carry the quantity: record_change as in 006, plus quantity.
ALTER TABLE rsvp.reservation_changes ADD COLUMN quantity integer NOT NULL DEFAULT 1;
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
        OR NEW.note IS DISTINCT FROM OLD.note OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
        OR NEW.quantity IS DISTINCT FROM OLD.quantity THEN
    kind := 'update';
    r := NEW;
  ELSE
    RETURN NULL;
  END IF;
  INSERT INTO rsvp.reservation_changes
         (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at, expires_at,
          group_id, quantity)
  VALUES (kind, r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
          r.updated_at, r.expires_at, r.group_id, r.quantity);
  RETURN NULL;
END;
$$;

-- The units in use on a resource over a span, as consecutive segments covering it: live
-- reservations (unexpired holds) by their occupied windows, a blocked one counting p_cap.
-- p_exclude leaves one reservation out (the one being moved). One sort of the start and end
-- events, whatever the number of rows.
CREATE FUNCTION rsvp.use_segments(p_resource_id text, p_span tstzrange, p_cap integer,
                                  p_exclude uuid)
  RETURNS TABLE (seg tstzrange, used integer)
  LANGUAGE sql STABLE AS $$
  WITH live AS (
    SELECT x.occupied * p_span AS o,
           CASE WHEN x.status = 'blocked' THEN p_cap ELSE x.quantity END AS q
      FROM rsvp.reservations AS x
     WHERE x.resource_id = p_resource_id AND x.status <> 'cancelled'
       AND (x.expires_at IS NULL OR x.expires_at > now())
       AND x.occupied && p_span AND x.id IS DISTINCT FROM p_exclude
  ), steps AS (
    SELECT e.t, sum(e.d) AS d FROM (
      SELECT lower(l.o) AS t, l.q AS d FROM live AS l
      UNION ALL SELECT upper(l.o), -l.q FROM live AS l
      UNION ALL SELECT lower(p_span), 0
      UNION ALL SELECT upper(p_span), 0) AS e
    GROUP BY e.t
  ), run AS (
    SELECT s.t, sum(s.d) OVER (ORDER BY s.t) AS used, lead(s.t) OVER (ORDER BY s.t) AS next
      FROM steps AS s
  )
  SELECT tstzrange(r.t, r.next, '[)'), r.used::integer FROM run AS r
   WHERE r.next IS NOT NULL ORDER BY r.t
$$;

-- The tightest instant of a span: the units free there and the earliest such instant.
CREATE FUNCTION rsvp.tightest(p_resource_id text, p_span tstzrange, p_cap integer, p_exclude uuid)
  RETURNS TABLE (free integer, at timestamptz)
  LANGUAGE sql STABLE AS $$
  SELECT p_cap - u.used, lower(u.seg)
    FROM rsvp.use_segments(p_resource_id, p_span, p_cap, p_exclude) AS u
   ORDER BY u.used DESC, lower(u.seg) LIMIT 1
$$;

-- The quota period a window's start falls in, in the resource's time zone.
CREATE FUNCTION rsvp.quota_period_of(res rsvp.resources, span tstzrange) RETURNS tstzrange
  LANGUAGE sql STABLE
  RETURN (SELECT tstzrange(d AT TIME ZONE res.time_zone,
                           (d + ('1 ' || res.quota_period)::interval) AT TIME ZONE res.time_zone, '[)')
            FROM (SELECT date_trunc(res.quota_period, lower(span) AT TIME ZONE res.time_zone) AS d) AS x);

-- The user's live reservations that count against res's quota in the period `span` starts
-- in: on res, or with per_pool on every resource of its pool. Blocked ones never count.
CREATE FUNCTION rsvp.quota_counted(res rsvp.resources, p_user_id text, span tstzrange,
                                   p_exclude uuid)
  RETURNS SETOF rsvp.reservations
  LANGUAGE sql STABLE AS $$
  SELECT x.* FROM rsvp.reservations AS x
   WHERE x.user_id = p_user_id
     AND lower(x.timespan) >= lower(rsvp.quota_period_of(res, span))
     AND lower(x.timespan) < upper(rsvp.quota_period_of(res, span))
     AND x.status IN ('pending', 'confirmed') AND (x.expires_at IS NULL OR x.expires_at > now())
     AND x.id IS DISTINCT FROM p_exclude
     AND (x.resource_id = res.id
          OR (res.quota_per_pool AND res.pool <> ''
              AND x.resource_id IN (SELECT m.id FROM rsvp.resources AS m WHERE m.pool = res.pool)))
$$;

-- The quota of res that one more reservation of `span` by p_user_id would break, as a message
-- naming it; NULL when it fits (or res has no quota, or the reservation is blocked).
CREATE FUNCTION rsvp.broken_quota(res rsvp.resources, p_user_id text,
                                  status rsvp.reservation_status, span tstzrange, p_exclude uuid)
  RETURNS text
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  n bigint;
  booked interval;
  what text;
  every text;
BEGIN
  IF res.quota_period IS NULL OR status = 'blocked'
     OR (res.quota_max_reservations = 0 AND res.quota_max_time IS NULL) THEN
    RETURN NULL;
  END IF;
  SELECT count(*), coalesce(sum(upper(c.timespan) - lower(c.timespan)), '0')
    INTO n, booked FROM rsvp.quota_counted(res, p_user_id, span, p_exclude) AS c;
  what := CASE WHEN res.quota_per_pool AND res.pool <> '' THEN format('pool %s', res.pool)
               ELSE res.id END;
  every := 'a ' || res.quota_period;
  IF res.quota_max_reservations > 0 AND n >= res.quota_max_reservations THEN
    RETURN format('%s may book %s at most %s %s %s (quota)', p_user_id, what,
                  res.quota_max_reservations,
                  CASE WHEN res.quota_max_reservations = 1 THEN 'time' ELSE 'times' END, every);
  END IF;
  IF booked + (upper(span) - lower(span)) > res.quota_max_time THEN
    RETURN format('%s may book %s for at most %s %s (quota)', p_user_id, what,
                  rsvp.duration_text(res.quota_max_time), every);
  END IF;
  RETURN NULL;
END;
$$;

-- Why a reservation of quantity p_quantity may not go in, on res (NULL: unregistered):
-- 'invalid' (more units than the resource has), 'rule' (a quota), or 'conflict' with the units
-- free at the tightest instant of what it would occupy and that instant. Rules before clashes.
CREATE FUNCTION rsvp.refusal(res rsvp.resources, p_resource_id text, p_user_id text,
                             status rsvp.reservation_status, span tstzrange, p_quantity integer,
                             p_exclude uuid)
  RETURNS TABLE (kind text, message text, free integer, at timestamptz)
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  cap integer := greatest(coalesce(res.capacity, 1), 1);
  broken text;
BEGIN
  IF status <> 'blocked' AND p_quantity > cap THEN
    RETURN QUERY SELECT 'invalid', format('quantity %s is more than the %s %s of %s', p_quantity,
                                          cap, CASE WHEN cap = 1 THEN 'unit' ELSE 'units' END,
                                          p_resource_id),
                        NULL::integer, NULL::timestamptz;
    RETURN;
  END IF;
  IF res.id IS NOT NULL THEN
    broken := rsvp.broken_quota(res, p_user_id, status, span, p_exclude);
    IF broken IS NOT NULL THEN
      RETURN QUERY SELECT 'rule', broken, NULL::integer, NULL::timestamptz;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY
    SELECT 'conflict', NULL::text, t.free, t.at
      FROM rsvp.tightest(p_resource_id,
                         rsvp.widen(span, coalesce(res.buffer_before, '0'), coalesce(res.buffer_after, '0')),
                         cap, p_exclude) AS t;
END;
$$;

-- A live reservation of a resource that occupies an instant (the one a refusal names).
CREATE FUNCTION rsvp.occupant(p_resource_id text, p_at timestamptz) RETURNS rsvp.reservations
  LANGUAGE sql STABLE
  RETURN (SELECT x FROM rsvp.reservations AS x
           WHERE x.resource_id = p_resource_id AND x.status <> 'cancelled'
             AND (x.expires_at IS NULL OR x.expires_at > now()) AND x.occupied @> p_at
           ORDER BY lower(x.timespan) LIMIT 1);

-- Admits a row of a counted resource, or one with a quota or several units: its quantity
-- within the capacity, the user's quota, and the capacity at every instant it occupies. An
-- insert that does not fit is skipped (NULL), so one refused row never fails its batch;
-- an update raises RV011 (capacity), RV012 (quota) or RV013 (quantity).
--
-- Quotas with per_pool count the user's reservations on every resource of the pool, and a
-- write to any of them (which takes only that resource's lock) changes the count; so a writer
-- checking such a quota holds the locks of every member while it counts. Its callers take
-- them up front, with the rest of their locks in one sorted lock_keys call, so writers never
-- wait on each other in a cycle; the call here is then granted at once, and it only waits
-- when the pool changed between the caller's reading of it and its locking.
CREATE FUNCTION rsvp.admit(res rsvp.resources, r rsvp.reservations, inserting boolean)
  RETURNS rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cap integer := greatest(res.capacity, 1);
  broken text;
BEGIN
  IF r.status = 'blocked' THEN
    r.quantity := cap;
  ELSIF r.quantity > cap THEN
    IF inserting THEN
      RETURN NULL;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'RV013', MESSAGE = format('quantity %s is more than %s has', r.quantity, res.id);
  ELSIF res.quota_period IS NOT NULL THEN
    IF res.quota_per_pool AND res.pool <> '' THEN
      PERFORM rsvp.lock_keys(ARRAY(SELECT m.id FROM rsvp.resources AS m WHERE m.pool = res.pool));
    END IF;
    broken := rsvp.broken_quota(res, r.user_id, r.status, r.timespan, r.id);
    IF broken IS NOT NULL THEN
      IF inserting THEN
        RETURN NULL;
      END IF;
      RAISE EXCEPTION USING ERRCODE = 'RV012', MESSAGE = broken;
    END IF;
  END IF;
  IF cap = 1 THEN
    r.exclusive := true;
    RETURN r;
  END IF;
  r.exclusive := NULL;
  IF (SELECT t.free FROM rsvp.tightest(r.resource_id, rsvp.widen(r.timespan, r.buffer_before, r.buffer_after),
                                        cap, r.id) AS t) < r.quantity THEN
    IF inserting THEN
      RETURN NULL;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'RV011', MESSAGE = format('%s has too few units free', res.id);
  END IF;
  RETURN r;
END;
$$;

-- apply_resource as in 006, plus counted capacity, quotas and quantities (rsvp.admit), also
-- when only the quantity changes. An exclusive resource without a quota costs one more test.
CREATE OR REPLACE FUNCTION rsvp.apply_resource() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  res rsvp.resources;
  broken text;
  moved boolean := TG_OP = 'INSERT' OR NEW.timespan <> OLD.timespan;
BEGIN
  IF NOT moved AND NEW.quantity = OLD.quantity THEN
    RETURN NEW;
  END IF;
  SELECT * INTO res FROM rsvp.resources WHERE id = NEW.resource_id;
  IF NOT FOUND THEN
    NEW.buffer_before := '0';
    NEW.buffer_after := '0';
    IF NEW.quantity > 1 AND NEW.status <> 'blocked' THEN
      IF TG_OP = 'INSERT' THEN
        RETURN NULL;
      END IF;
      RAISE EXCEPTION USING ERRCODE = 'RV013', MESSAGE = format('%s holds one unit', NEW.resource_id);
    END IF;
    NEW.quantity := 1;
    NEW.exclusive := true;
    RETURN NEW;
  END IF;
  IF moved THEN
    NEW.buffer_before := res.buffer_before;
    NEW.buffer_after := res.buffer_after;
    broken := rsvp.broken_rule(res, NEW.status, NEW.timespan);
    IF broken IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = broken;
    END IF;
  END IF;
  IF res.capacity > 1 OR res.quota_period IS NOT NULL OR NEW.quantity > 1 OR NEW.exclusive IS NULL THEN
    RETURN rsvp.admit(res, NEW, TG_OP = 'INSERT');
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER reservations_apply_resource ON rsvp.reservations;
CREATE TRIGGER reservations_apply_resource
  BEFORE INSERT OR UPDATE OF timespan, quantity ON rsvp.reservations
  FOR EACH ROW EXECUTE FUNCTION rsvp.apply_resource();

-- The locks a write to these resources takes: each resource, and every member of the pool of
-- one whose quota counts its whole pool (see rsvp.admit). Read before the locks are held: a
-- pool that changes meanwhile is locked again, in admit. In plpgsql, which keeps its plan.
CREATE FUNCTION rsvp.write_keys(p_resource_ids text[]) RETURNS text[]
  LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN ARRAY(SELECT k FROM unnest(p_resource_ids) AS k
               UNION ALL
               SELECT m.id FROM rsvp.resources AS r JOIN rsvp.resources AS m ON m.pool = r.pool
                WHERE r.id = ANY (p_resource_ids) AND r.quota_per_pool AND r.pool <> '');
END;
$$;

-- rsvp.reserve as in 006, plus quantities and one more outcome: 'invalid' (out_message says
-- why); a 'conflict' also says the units free at the tightest instant (out_free) and names a
-- reservation there. Rows the trigger skipped (capacity, quota, quantity) are answered after
-- the insert, as clashes are, so the common case runs the same three statements as before.
DROP FUNCTION rsvp.reserve(jsonb);
CREATE FUNCTION rsvp.reserve(p_requests jsonb)
  RETURNS TABLE (out_request uuid, out_kind text, out_row rsvp.reservations, out_message text,
                 out_free integer)
  LANGUAGE plpgsql AS $$
DECLARE
  total integer := jsonb_array_length(p_requests);
  keyed boolean := jsonb_path_exists(p_requests, '$[*].request_id ? (@ != null)');
  replayed uuid[] := '{}';
  refused uuid[] := '{}';
  answered bigint;
  made bigint;
BEGIN
  -- rsvp.write_keys, spelled out: one statement, as before, plus a join that finds nothing
  -- unless a quota counts a whole pool.
  PERFORM rsvp.lock_keys(array_agg(k)) FROM (
    SELECT q.resource_id AS k FROM jsonb_to_recordset(p_requests) AS q(resource_id text)
    UNION ALL
    SELECT 'request:' || q.user_id || ':' || q.request_id
      FROM jsonb_to_recordset(p_requests) AS q(user_id text, request_id text)
     WHERE q.request_id IS NOT NULL
    UNION ALL
    SELECT m.id FROM jsonb_to_recordset(p_requests) AS q(resource_id text)
      JOIN rsvp.resources AS r ON r.id = q.resource_id AND r.quota_per_pool AND r.pool <> ''
      JOIN rsvp.resources AS m ON m.pool = r.pool) AS keys;

  IF keyed THEN
    RETURN QUERY
      SELECT q.id, CASE WHEN k.request_hash = q.request_hash THEN 'replayed' ELSE 'mismatch' END, r.x,
             NULL::text, NULL::integer
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
    SELECT q.id, 'rule', NULL::rsvp.reservations, b.message, NULL::integer
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
  -- second attempt skips those through the primary key, and the answers count them. The
  -- trigger sees the rows this statement inserted before, so the batch's earlier requests
  -- take a counted resource's units first.
  FOR attempt IN 1..2 LOOP
    RETURN QUERY
      WITH ins AS (
        INSERT INTO rsvp.reservations AS t (id, user_id, resource_id, status, timespan, note, expires_at,
                                            quantity)
        SELECT q.id, q.user_id, q.resource_id, q.status, tstzrange(q.start_at, q.end_at, '[)'), q.note,
               COALESCE(q.expires_at, now() + make_interval(secs => q.hold_seconds)),
               COALESCE(q.quantity, 1)
          FROM ROWS FROM (jsonb_to_recordset(p_requests)
                 AS (id uuid, user_id text, resource_id text, status rsvp.reservation_status,
                     start_at timestamptz, end_at timestamptz, note text, expires_at timestamptz,
                     hold_seconds double precision, quantity integer))
               WITH ORDINALITY
                 AS q(id, user_id, resource_id, status, start_at, end_at, note, expires_at,
                      hold_seconds, quantity, ord)
         WHERE q.id <> ALL (replayed) AND q.id <> ALL (refused)
         ORDER BY q.ord
        ON CONFLICT DO NOTHING
        RETURNING t
      )
      SELECT (ins.t).id, 'created', ins.t, NULL::text, NULL::integer FROM ins;
    GET DIAGNOSTICS made = ROW_COUNT;
    answered := answered + made;
    -- Everything in: done. Otherwise an expired hold may stand in the way: release, retry once.
    EXIT WHEN answered = total OR attempt = 2;
    EXIT WHEN rsvp.release_expired_in_way(p_requests) = 0;
  END LOOP;

  IF answered < total THEN
    RETURN QUERY
      SELECT q.id, v.kind, rsvp.occupant(q.resource_id, v.at), v.message, v.free
        FROM jsonb_to_recordset(p_requests)
          AS q(id uuid, user_id text, resource_id text, status rsvp.reservation_status,
               start_at timestamptz, end_at timestamptz, quantity integer)
        LEFT JOIN rsvp.resources AS res ON res.id = q.resource_id
        -- Made here: a primary-key probe per request (LIMIT 1, as above: never a hash join).
        LEFT JOIN LATERAL (
          SELECT true AS made FROM rsvp.reservations AS y WHERE y.id = q.id LIMIT 1) AS m ON true
        CROSS JOIN LATERAL rsvp.refusal(res, q.resource_id, q.user_id, q.status,
                                        tstzrange(q.start_at, q.end_at, '[)'),
                                        COALESCE(q.quantity, 1), NULL) AS v
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

-- Locks a reservation's resource (and, for a quota counting its pool, every member: see
-- rsvp.admit) in one sorted call, and returns the row as it stands once they are held.
CREATE FUNCTION rsvp.lock_reservation_keys(p_id uuid) RETURNS rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  found_row rsvp.reservations;
BEGIN
  SELECT * INTO found_row FROM rsvp.reservations WHERE id = p_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM rsvp.lock_keys(rsvp.write_keys(ARRAY[found_row.resource_id::text]));
  SELECT * INTO found_row FROM rsvp.reservations WHERE id = p_id;
  RETURN found_row;
END;
$$;

-- rsvp.update as in 006, plus p_quantity (NULL: unchanged), with the checks of reserve: a
-- quantity above the capacity is 'invalid', a move that breaks the quota is 'rule', and a
-- 'conflict' says the units free at the tightest instant (out_free).
DROP FUNCTION rsvp.update(uuid, text, timestamptz, timestamptz);
CREATE FUNCTION rsvp.update(p_id uuid, p_note text, p_start timestamptz, p_end timestamptz,
                            p_quantity integer)
  RETURNS TABLE (out_kind text, out_row rsvp.reservations, out_message text, out_free integer)
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation_keys(p_id);
  span tstzrange := CASE WHEN p_start IS NULL THEN cur.timespan ELSE tstzrange(p_start, p_end, '[)') END;
  qty integer := CASE WHEN cur.status = 'blocked' THEN cur.quantity ELSE coalesce(p_quantity, cur.quantity) END;
  res rsvp.resources;
  broken text;
  why record;
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status = 'pending' AND cur.expires_at <= now() THEN
    UPDATE rsvp.reservations SET status = 'cancelled', updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  IF cur.status = 'cancelled' THEN
    RETURN QUERY SELECT 'cancelled', cur, NULL::text, NULL::integer;
    RETURN;
  END IF;
  IF cur.note IS NOT DISTINCT FROM COALESCE(p_note, cur.note) AND cur.timespan = span
     AND cur.quantity = qty THEN
    RETURN QUERY SELECT 'unchanged', cur, NULL::text, NULL::integer;
    RETURN;
  END IF;
  IF cur.timespan <> span OR cur.quantity <> qty THEN
    SELECT * INTO res FROM rsvp.resources AS r WHERE r.id = cur.resource_id;
    IF cur.timespan <> span THEN
      broken := rsvp.broken_rule(res, cur.status, span);
      IF broken IS NOT NULL THEN
        RETURN QUERY SELECT 'rule', cur, broken, NULL::integer;
        RETURN;
      END IF;
    END IF;
    IF cur.status <> 'blocked' AND qty > greatest(coalesce(res.capacity, 1), 1) THEN
      SELECT * INTO why FROM rsvp.refusal(res, cur.resource_id, cur.user_id, cur.status, span, qty, p_id);
      RETURN QUERY SELECT 'invalid', cur, why.message, NULL::integer;
      RETURN;
    END IF;
    IF cur.timespan <> span AND res.id IS NOT NULL THEN
      broken := rsvp.broken_quota(res, cur.user_id, cur.status, span, p_id);
      IF broken IS NOT NULL THEN
        RETURN QUERY SELECT 'rule', cur, broken, NULL::integer;
        RETURN;
      END IF;
    END IF;
    PERFORM rsvp.release_expired_in_way(jsonb_build_array(jsonb_build_object(
      'resource_id', cur.resource_id, 'start_at', lower(span), 'end_at', upper(span))));
  END IF;
  BEGIN
    UPDATE rsvp.reservations
       SET note = COALESCE(p_note, note), timespan = span, quantity = qty, updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  EXCEPTION WHEN exclusion_violation OR SQLSTATE 'RV011' THEN
    SELECT * INTO why FROM rsvp.refusal(res, cur.resource_id, cur.user_id, cur.status, span, qty, p_id);
    RETURN QUERY SELECT 'conflict', rsvp.occupant(cur.resource_id, why.at), NULL::text, why.free;
    RETURN;
  END;
  RETURN QUERY SELECT 'updated', cur, NULL::text, NULL::integer;
END;
$$;

-- put_resource as in 006, plus capacity and quota. Under the resource's lock, which every
-- writer of its reservations holds while it checks the capacity, so no reserve is half-way
-- through a sum this changes. Lowering the capacity below what live reservations use at some
-- instant from now on raises RV014 naming the first such window and its use; raising it always
-- works. The future part of the live rows then follows the new kind of resource: exclusive
-- rows back under the exclusion constraint (no two of them overlap from now on, which the
-- check just proved), counted ones out of it, and blocked ones take the whole new capacity.
DROP FUNCTION rsvp.put_resource(text, text, text, interval, interval, interval, interval,
                                interval, interval, text);
CREATE FUNCTION rsvp.put_resource(
  p_id text, p_pool text, p_time_zone text, p_buffer_before interval, p_buffer_after interval,
  p_min_duration interval, p_max_duration interval, p_min_notice interval,
  p_max_advance interval, p_note text, p_capacity integer, p_quota_period text,
  p_quota_max_reservations integer, p_quota_max_time interval, p_quota_per_pool boolean)
  RETURNS SETOF rsvp.resources
  LANGUAGE plpgsql AS $$
DECLARE
  cap integer := greatest(p_capacity, 1);
  over record;
BEGIN
  PERFORM rsvp.lock_resource(p_id);
  SELECT u.seg, u.used INTO over
    FROM rsvp.use_segments(p_id, tstzrange(now(), 'infinity', '[)'), cap, NULL) AS u
   WHERE u.used > cap ORDER BY lower(u.seg) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'RV014', MESSAGE = format(
      'resource %s has %s units in use from %s to %s: its capacity cannot drop to %s',
      to_json(p_id::text), over.used,
      to_char(lower(over.seg) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      to_char(upper(over.seg) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), p_capacity);
  END IF;
  RETURN QUERY
    INSERT INTO rsvp.resources AS r (id, pool, time_zone, buffer_before, buffer_after, min_duration,
                                     max_duration, min_notice, max_advance, note, capacity,
                                     quota_period, quota_max_reservations, quota_max_time,
                                     quota_per_pool)
    VALUES (p_id, p_pool, p_time_zone, p_buffer_before, p_buffer_after, p_min_duration,
            p_max_duration, p_min_notice, p_max_advance, p_note, p_capacity, p_quota_period,
            p_quota_max_reservations, p_quota_max_time, p_quota_per_pool)
    ON CONFLICT (id) DO UPDATE
      SET pool = EXCLUDED.pool, time_zone = EXCLUDED.time_zone,
          buffer_before = EXCLUDED.buffer_before, buffer_after = EXCLUDED.buffer_after,
          min_duration = EXCLUDED.min_duration, max_duration = EXCLUDED.max_duration,
          min_notice = EXCLUDED.min_notice, max_advance = EXCLUDED.max_advance,
          note = EXCLUDED.note, capacity = EXCLUDED.capacity,
          quota_period = EXCLUDED.quota_period,
          quota_max_reservations = EXCLUDED.quota_max_reservations,
          quota_max_time = EXCLUDED.quota_max_time, quota_per_pool = EXCLUDED.quota_per_pool,
          updated_at = now()
    RETURNING r.*;
  BEGIN
    UPDATE rsvp.reservations
       SET exclusive = CASE WHEN cap = 1 THEN true END,
           quantity = CASE WHEN status = 'blocked' THEN cap ELSE quantity END
     WHERE resource_id = p_id AND status <> 'cancelled' AND upper(occupied) > now()
       AND (exclusive IS DISTINCT FROM CASE WHEN cap = 1 THEN true END
            OR (status = 'blocked' AND quantity <> cap));
  EXCEPTION WHEN exclusion_violation THEN
    -- A reservation in progress overlaps, in the past, one made while the resource was
    -- exclusive: the constraint cannot take it back until it ends.
    RAISE EXCEPTION USING ERRCODE = 'RV014', MESSAGE = format(
      'resource %s has reservations in progress that overlap others: its capacity cannot drop to %s until they end',
      to_json(p_id::text), p_capacity);
  END;
END;
$$;

-- Reserve items carry a quantity.
ALTER TYPE rsvp.group_item ADD ATTRIBUTE quantity integer;

-- rsvp.reserve_group as in 006, plus quantities, capacity and quotas. New outcomes: 'invalid'
-- (an item's quantity more than its resource, or every resource of its pool, has), and an
-- item at its quota is 'rule' (all or nothing; a rule wins over clashes) or, skipping
-- conflicts, 'skipped' with a reservation that counts against the quota. A pool item skips
-- the members that have too few units or at which the user is at quota; its clash names the
-- first member at which the user is not. 'conflict' and 'skipped' rows give out_free, the
-- units free at the tightest instant of the item's window.
DROP FUNCTION rsvp.reserve_group(jsonb, uuid, text, text, text, boolean);
CREATE FUNCTION rsvp.reserve_group(p_items jsonb, p_group_id uuid, p_user_id text,
                                   p_request_id text, p_request_hash text, p_skip_conflicts boolean)
  RETURNS TABLE (out_item integer, out_kind text, out_row rsvp.reservations, out_message text,
                 out_free integer)
  LANGUAGE plpgsql AS $$
DECLARE
  items rsvp.group_item[];
  item rsvp.group_item;
  member record;
  ins rsvp.reservations;
  why_kind text;
  why_message text;
  why_free integer;
  why_at timestamptz;
  why_res rsvp.resources;
  quota_message text;
  quota_row rsvp.reservations;
  created rsvp.reservations[] := '{}';
  created_items integer[] := '{}';
  clashes rsvp.reservations[] := '{}';
  clash_items integer[] := '{}';
  clash_pools text[] := '{}';
  clash_free integer[] := '{}';
  breach_item integer;
  breach_message text;
  prior rsvp.reserve_requests;
  members text[];
BEGIN
  SELECT array_agg(ROW(q.ord - 1, q.id, q.user_id, q.resource_id, q.pool, q.status,
                       tstzrange(q.start_at, q.end_at, '[)'), q.note,
                       COALESCE(q.expires_at, now() + make_interval(secs => q.hold_seconds)),
                       COALESCE(q.quantity, 1))::rsvp.group_item
                   ORDER BY q.ord)
    INTO items
    FROM ROWS FROM (jsonb_to_recordset(p_items)
           AS (id uuid, user_id text, resource_id text, pool text, status rsvp.reservation_status,
               start_at timestamptz, end_at timestamptz, note text, expires_at timestamptz,
               hold_seconds double precision, quantity integer))
         WITH ORDINALITY AS q(id, user_id, resource_id, pool, status, start_at, end_at, note,
                              expires_at, hold_seconds, quantity, ord);

  -- Lock every resource named and every member of every pool named, as read now (and the
  -- pools of quotas that count a whole pool: rsvp.write_keys). Pool items use only the
  -- members locked here that are still in their pool: one that joins meanwhile is not
  -- considered, one that leaves is dropped.
  SELECT coalesce(array_agg(DISTINCT r.id), '{}') INTO members
    FROM rsvp.resources AS r WHERE r.pool IN (SELECT i.pool FROM unnest(items) AS i);
  PERFORM rsvp.lock_keys(rsvp.write_keys(
            ARRAY(SELECT i.resource_id FROM unnest(items) AS i WHERE i.resource_id IS NOT NULL)
            || members)
          || array_remove(ARRAY['request:' || p_user_id || ':' || p_request_id], NULL));

  IF p_request_id IS NOT NULL THEN
    SELECT * INTO prior FROM rsvp.reserve_requests AS k
     WHERE k.user_id = p_user_id AND k.request_id = p_request_id;
    IF FOUND THEN
      RETURN QUERY
        SELECT (o.n - 1)::integer,
               CASE WHEN prior.request_hash = p_request_hash THEN 'replayed' ELSE 'mismatch' END,
               r, NULL::text, NULL::integer
          FROM unnest(coalesce(prior.reservation_ids, ARRAY[prior.reservation_id]))
               WITH ORDINALITY AS o(id, n)
          JOIN rsvp.reservations AS r ON r.id = o.id
         ORDER BY o.n;
      RETURN;
    END IF;
  END IF;

  -- Pools with no resources at all.
  RETURN QUERY
    SELECT i.ord, 'empty', NULL::rsvp.reservations, i.pool, NULL::integer FROM unnest(items) AS i
     WHERE i.pool IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM rsvp.resources AS r WHERE r.pool = i.pool AND r.id = ANY (members));
  IF FOUND THEN
    RETURN;
  END IF;

  -- Rules before clashes, for the whole group: a resource item that breaks one, or a pool
  -- item whose window no member's rules accept (the first member's broken rule is named).
  RETURN QUERY
    SELECT i.ord, 'rule', NULL::rsvp.reservations, b.message, NULL::integer
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

  -- Quantities that no resource the item may land on (accepting its window) could ever hold.
  RETURN QUERY
    SELECT i.ord, 'invalid', NULL::rsvp.reservations,
           CASE WHEN i.pool IS NULL
                THEN format('quantity %s is more than the %s %s of %s', i.quantity, c.cap,
                            CASE WHEN c.cap = 1 THEN 'unit' ELSE 'units' END, i.resource_id)
                ELSE format('no resource of pool %s that accepts the window holds %s units', i.pool,
                            i.quantity) END,
           NULL::integer
      FROM unnest(items) AS i
      CROSS JOIN LATERAL (
        SELECT greatest(coalesce(max(r.capacity), 1), 1) AS cap FROM rsvp.resources AS r
         WHERE r.id = i.resource_id
            OR (r.pool = i.pool AND r.id = ANY (members)
                AND rsvp.broken_rule(r, i.status, i.span) IS NULL)) AS c
     WHERE i.status <> 'blocked' AND i.quantity > c.cap
     ORDER BY i.ord LIMIT 1;
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
      -- The trigger skips a member that has too few units free or where the user is at quota.
      FOR member IN
        SELECT item.resource_id AS id WHERE item.resource_id IS NOT NULL
        UNION ALL
        (SELECT r.id FROM rsvp.resources AS r
          WHERE r.pool = item.pool AND r.id = ANY (members)
            AND rsvp.broken_rule(r, item.status, item.span) IS NULL
            AND (item.status = 'blocked' OR greatest(r.capacity, 1) >= item.quantity)
          ORDER BY r.id)
      LOOP
        INSERT INTO rsvp.reservations AS t
               (id, user_id, resource_id, status, timespan, note, expires_at, group_id, quantity)
        VALUES (item.id, item.user_id, member.id, item.status, item.span, item.note,
                item.expires_at, p_group_id, item.quantity)
        ON CONFLICT DO NOTHING
        RETURNING t.* INTO ins;
        EXIT WHEN ins.id IS NOT NULL;
      END LOOP;
      IF ins.id IS NOT NULL THEN
        created := created || ins;
        created_items := created_items || item.ord;
        CONTINUE;
      END IF;
      -- Why not: a clash at the first candidate where the user is not at quota; when the user
      -- is at quota everywhere, the first candidate's quota.
      quota_message := NULL;
      quota_row := NULL;
      why_kind := NULL;
      FOR member IN
        SELECT item.resource_id AS id WHERE item.resource_id IS NOT NULL
        UNION ALL
        (SELECT r.id FROM rsvp.resources AS r
          WHERE r.pool = item.pool AND r.id = ANY (members)
            AND rsvp.broken_rule(r, item.status, item.span) IS NULL
            AND (item.status = 'blocked' OR greatest(r.capacity, 1) >= item.quantity)
          ORDER BY r.id)
      LOOP
        why_res := NULL;
        SELECT * INTO why_res FROM rsvp.resources AS r WHERE r.id = member.id;
        SELECT v.kind, v.message, v.free, v.at INTO why_kind, why_message, why_free, why_at
          FROM rsvp.refusal(why_res, member.id, item.user_id, item.status, item.span,
                            item.quantity, NULL) AS v;
        EXIT WHEN why_kind = 'conflict';
        IF quota_message IS NULL THEN
          quota_message := why_message;
          SELECT c.* INTO quota_row FROM rsvp.quota_counted(why_res, item.user_id, item.span, NULL) AS c
           ORDER BY lower(c.timespan) LIMIT 1;
        END IF;
      END LOOP;
      IF why_kind = 'conflict' THEN
        clashes := clashes || rsvp.occupant(member.id, why_at);
        clash_free := clash_free || why_free;
      ELSIF p_skip_conflicts THEN
        clashes := clashes || quota_row;
        clash_free := clash_free || NULL::integer;
      ELSE
        IF breach_item IS NULL THEN
          breach_item := item.ord;
          breach_message := quota_message;
        END IF;
        CONTINUE;
      END IF;
      clash_items := clash_items || item.ord;
      clash_pools := clash_pools || item.pool;
    END LOOP;
    IF (cardinality(clash_items) > 0 OR breach_item IS NOT NULL) AND NOT p_skip_conflicts THEN
      RAISE EXCEPTION USING ERRCODE = 'RV001', MESSAGE = 'rsvp: group rolled back';
    END IF;
  EXCEPTION WHEN SQLSTATE 'RV001' THEN
    -- Undoes every insert of the group; the variables keep what to report.
    created := '{}';
    created_items := '{}';
  END;

  -- A quota, like any rule, wins over clashes.
  IF breach_item IS NOT NULL THEN
    RETURN QUERY SELECT breach_item, 'rule', NULL::rsvp.reservations, breach_message, NULL::integer;
    RETURN;
  END IF;
  RETURN QUERY
    SELECT clash_items[n], CASE WHEN p_skip_conflicts THEN 'skipped' ELSE 'conflict' END,
           clashes[n], clash_pools[n], clash_free[n]
      FROM generate_subscripts(clash_items, 1) AS n ORDER BY n;
  RETURN QUERY
    SELECT created_items[n], 'created', created[n], NULL::text, NULL::integer
      FROM generate_subscripts(created_items, 1) AS n ORDER BY n;

  IF p_request_id IS NOT NULL AND cardinality(created) > 0 THEN
    INSERT INTO rsvp.reserve_requests (user_id, request_id, request_hash, reservation_id, reservation_ids)
    VALUES (p_user_id, p_request_id, p_request_hash, (created[1]).id,
            ARRAY(SELECT c.id FROM unnest(created) AS c))
    ON CONFLICT DO NOTHING;
  END IF;
END;
$$;

-- The maximal spans within p_span where at least p_quantity units are free throughout, each
-- with the fewest units free in it.
CREATE FUNCTION rsvp.free_spans(p_resource_id text, p_span tstzrange, p_cap integer,
                                p_quantity integer)
  RETURNS TABLE (span tstzrange, free integer)
  LANGUAGE sql STABLE AS $$
  WITH fits AS (
    SELECT u.seg, u.used FROM rsvp.use_segments(p_resource_id, p_span, p_cap, NULL) AS u
     WHERE p_cap - u.used >= p_quantity
  )
  SELECT s, (SELECT p_cap - max(f.used) FROM fits AS f WHERE f.seg <@ s)::integer
    FROM unnest((SELECT range_agg(f.seg) FROM fits AS f)) AS s
$$;
