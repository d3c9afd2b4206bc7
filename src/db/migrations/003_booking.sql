-- What real booking systems need: holds that expire, idempotent retries, reschedule.

-- Holds: a pending reservation may carry an expiry; past it, the reservation is released.
ALTER TABLE rsvp.reservations ADD COLUMN expires_at timestamptz;
ALTER TABLE rsvp.reservations ADD CONSTRAINT reservations_expiry_only_pending
  CHECK (expires_at IS NULL OR status IN ('pending', 'cancelled'));
CREATE INDEX reservations_expiring_idx ON rsvp.reservations (expires_at)
  WHERE status = 'pending' AND expires_at IS NOT NULL;
ALTER TABLE rsvp.reservation_changes ADD COLUMN expires_at timestamptz;

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
         (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at, expires_at)
  VALUES (kind, r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
          r.updated_at, r.expires_at);
  RETURN NULL;
END;
$$;

-- Idempotency keys, scoped per user, kept at least 24 hours.
CREATE TABLE rsvp.reserve_requests (
  user_id varchar(64) NOT NULL,
  request_id varchar(128) NOT NULL,
  request_hash text NOT NULL,
  reservation_id uuid NOT NULL REFERENCES rsvp.reservations (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT reserve_requests_pkey PRIMARY KEY (user_id, request_id)
);
CREATE INDEX reserve_requests_created_at_idx ON rsvp.reserve_requests (created_at);

-- Takes rsvp's advisory locks on several keys, always in the same order, so two lockers
-- never wait on each other in a cycle.
CREATE FUNCTION rsvp.lock_keys(p_keys text[]) RETURNS void
  LANGUAGE sql AS $$
  SELECT count(pg_advisory_xact_lock(7397, h))
    FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(p_keys) AS k ORDER BY 1) AS ordered;
$$;

-- Releases expired holds of these resources that stand in the way of [start, end) windows.
-- The caller holds the resources' locks.
CREATE FUNCTION rsvp.release_expired_in_way(p_requests jsonb) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  released bigint;
BEGIN
  UPDATE rsvp.reservations AS x SET status = 'cancelled', updated_at = now()
    FROM jsonb_to_recordset(p_requests) AS q(resource_id text, start_at timestamptz, end_at timestamptz)
   WHERE x.resource_id = q.resource_id AND x.status = 'pending' AND x.expires_at <= now()
     AND x.timespan && tstzrange(q.start_at, q.end_at, '[)');
  GET DIAGNOSTICS released = ROW_COUNT;
  RETURN released;
END;
$$;

-- Reserves a batch. Input: a JSON array of {id, user_id, resource_id, status, start_at,
-- end_at, note, expires_at?, hold_seconds?, request_id?, request_hash?}. Output, per request
-- (out_request = its id): 'created' with the new row; 'conflict' with a live row it clashed
-- with; 'replayed' with the reservation an earlier request with the same key made;
-- 'mismatch' when that key was used with another body. Rows go in in array order, so within
-- a batch the earlier request wins, as it would across separate calls.
DROP FUNCTION rsvp.reserve(jsonb);
CREATE FUNCTION rsvp.reserve(p_requests jsonb)
  RETURNS TABLE (out_request uuid, out_kind text, out_row rsvp.reservations)
  LANGUAGE plpgsql AS $$
DECLARE
  total bigint := jsonb_array_length(p_requests);
  replayed bigint;
  created bigint;
  inserted bigint := 0;
BEGIN
  PERFORM rsvp.lock_keys(array_agg(k)) FROM (
    SELECT q.resource_id AS k FROM jsonb_to_recordset(p_requests) AS q(resource_id text)
    UNION ALL
    SELECT 'request:' || q.user_id || ':' || q.request_id
      FROM jsonb_to_recordset(p_requests) AS q(user_id text, request_id text)
     WHERE q.request_id IS NOT NULL) AS keys;

  RETURN QUERY
    SELECT q.id, CASE WHEN k.request_hash = q.request_hash THEN 'replayed' ELSE 'mismatch' END, r
      FROM jsonb_to_recordset(p_requests) AS q(id uuid, user_id text, request_id text, request_hash text)
      JOIN rsvp.reserve_requests AS k ON k.user_id = q.user_id AND k.request_id = q.request_id
      JOIN rsvp.reservations AS r ON r.id = k.reservation_id;
  GET DIAGNOSTICS replayed = ROW_COUNT;

  FOR attempt IN 1..2 LOOP
    RETURN QUERY
      WITH ins AS (
        INSERT INTO rsvp.reservations AS t (id, user_id, resource_id, status, timespan, note, expires_at)
        SELECT q.id, q.user_id, q.resource_id, q.status, tstzrange(q.start_at, q.end_at, '[)'), q.note,
               COALESCE(q.expires_at, now() + make_interval(secs => q.hold_seconds))
          FROM ROWS FROM (jsonb_to_recordset(p_requests)
                 AS (id uuid, user_id text, resource_id text, status rsvp.reservation_status,
                     start_at timestamptz, end_at timestamptz, note text, expires_at timestamptz,
                     hold_seconds double precision, request_id text))
               WITH ORDINALITY
                 AS q(id, user_id, resource_id, status, start_at, end_at, note, expires_at,
                      hold_seconds, request_id, ord)
         WHERE NOT EXISTS (SELECT 1 FROM rsvp.reserve_requests AS k
                            WHERE k.user_id = q.user_id AND k.request_id = q.request_id)
           AND NOT EXISTS (SELECT 1 FROM rsvp.reservations AS y WHERE y.id = q.id)
         ORDER BY q.ord
        ON CONFLICT DO NOTHING
        RETURNING t
      )
      SELECT (ins.t).id, 'created', ins.t FROM ins;
    GET DIAGNOSTICS created = ROW_COUNT;
    inserted := inserted + created;
    -- Everything in: done. Otherwise an expired hold may stand in the way: release, retry once.
    EXIT WHEN replayed + inserted = total OR attempt = 2;
    EXIT WHEN rsvp.release_expired_in_way(p_requests) = 0;
  END LOOP;

  RETURN QUERY
    SELECT q.id, 'conflict', c.found
      FROM jsonb_to_recordset(p_requests)
        AS q(id uuid, user_id text, resource_id text, start_at timestamptz, end_at timestamptz,
             request_id text)
      CROSS JOIN LATERAL (
        SELECT x AS found FROM rsvp.reservations AS x
         WHERE x.resource_id = q.resource_id AND x.status <> 'cancelled' AND x.id <> q.id
           AND x.timespan && tstzrange(q.start_at, q.end_at, '[)')
         ORDER BY lower(x.timespan)
         LIMIT 1
      ) AS c
     WHERE replayed + inserted < total
       AND NOT EXISTS (SELECT 1 FROM rsvp.reservations AS y WHERE y.id = q.id)
       AND NOT EXISTS (SELECT 1 FROM rsvp.reserve_requests AS k
                        WHERE k.user_id = q.user_id AND k.request_id = q.request_id);

  INSERT INTO rsvp.reserve_requests (user_id, request_id, request_hash, reservation_id)
  SELECT q.user_id, q.request_id, q.request_hash, q.id
    FROM jsonb_to_recordset(p_requests) AS q(id uuid, user_id text, request_id text, request_hash text)
   WHERE q.request_id IS NOT NULL AND EXISTS (SELECT 1 FROM rsvp.reservations AS y WHERE y.id = q.id)
  ON CONFLICT DO NOTHING;
END;
$$;

-- pending -> confirmed, clearing the hold. A hold that has expired is released instead.
CREATE OR REPLACE FUNCTION rsvp.confirm(p_id uuid) RETURNS SETOF rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation(p_id);
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status = 'pending' AND cur.expires_at <= now() THEN
    UPDATE rsvp.reservations SET status = 'cancelled', updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  ELSIF cur.status = 'pending' THEN
    UPDATE rsvp.reservations SET status = 'confirmed', expires_at = NULL, updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  RETURN NEXT cur;
END;
$$;

-- Changes a live reservation's note and/or window. Output: 'updated' (or 'unchanged') with
-- the row, 'cancelled' with the unchanged cancelled row, 'conflict' with the row it would
-- clash with (the reservation itself is left as it was); no row for an unknown id.
CREATE FUNCTION rsvp.update(p_id uuid, p_note text, p_start timestamptz, p_end timestamptz)
  RETURNS TABLE (out_kind text, out_row rsvp.reservations)
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation(p_id);
  span tstzrange := CASE WHEN p_start IS NULL THEN cur.timespan ELSE tstzrange(p_start, p_end, '[)') END;
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status = 'cancelled' THEN
    RETURN QUERY SELECT 'cancelled', cur;
    RETURN;
  END IF;
  IF cur.note IS NOT DISTINCT FROM COALESCE(p_note, cur.note) AND cur.timespan = span THEN
    RETURN QUERY SELECT 'unchanged', cur;
    RETURN;
  END IF;
  BEGIN
    UPDATE rsvp.reservations
       SET note = COALESCE(p_note, note), timespan = span, updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  EXCEPTION WHEN exclusion_violation THEN
    RETURN QUERY SELECT 'conflict', x FROM rsvp.reservations AS x
      WHERE x.resource_id = cur.resource_id AND x.status <> 'cancelled' AND x.id <> p_id
        AND x.timespan && span
      ORDER BY lower(x.timespan) LIMIT 1;
    RETURN;
  END;
  RETURN QUERY SELECT 'updated', cur;
END;
$$;
DROP FUNCTION rsvp.update_note(uuid, text);

-- Releases the expired holds of one resource under its lock, in a transaction of its own so
-- that the change log's order stays the resource's commit order. Returns how many.
CREATE FUNCTION rsvp.release_expired(p_resource_id text) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  released bigint;
BEGIN
  PERFORM rsvp.lock_resource(p_resource_id);
  UPDATE rsvp.reservations SET status = 'cancelled', updated_at = now()
   WHERE resource_id = p_resource_id AND status = 'pending' AND expires_at <= now();
  GET DIAGNOSTICS released = ROW_COUNT;
  RETURN released;
END;
$$;

-- Secrets shared by every server process on this database (e.g. the page-token MAC key).
CREATE TABLE rsvp.settings (
  name text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO rsvp.settings (name, value)
VALUES ('page_token_key', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
