-- update treats expired holds as the rest of rsvp does: as already released.
-- * An expired hold in the way of a move is released (it never blocks anyone), under the
--   resource's lock that rsvp.lock_reservation took, as reserve does.
-- * An expired hold itself is released instead of changed, as confirm does: the caller gets
--   'cancelled' with the released row (its expires_at says why), never a moved hold that the
--   sweeper would cancel a moment later.
CREATE OR REPLACE FUNCTION rsvp.update(p_id uuid, p_note text, p_start timestamptz, p_end timestamptz)
  RETURNS TABLE (out_kind text, out_row rsvp.reservations)
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation(p_id);
  span tstzrange := CASE WHEN p_start IS NULL THEN cur.timespan ELSE tstzrange(p_start, p_end, '[)') END;
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status = 'pending' AND cur.expires_at <= now() THEN
    UPDATE rsvp.reservations SET status = 'cancelled', updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  IF cur.status = 'cancelled' THEN
    RETURN QUERY SELECT 'cancelled', cur;
    RETURN;
  END IF;
  IF cur.note IS NOT DISTINCT FROM COALESCE(p_note, cur.note) AND cur.timespan = span THEN
    RETURN QUERY SELECT 'unchanged', cur;
    RETURN;
  END IF;
  IF cur.timespan <> span THEN
    PERFORM rsvp.release_expired_in_way(jsonb_build_array(jsonb_build_object(
      'resource_id', cur.resource_id, 'start_at', lower(span), 'end_at', upper(span))));
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

-- rsvp.reserve as in 004, with its idempotency-key lookups made plan-proof: with the key
-- table at ~20,000 rows the planner hashed all of it on every call that carried a key, with
-- fresh statistics or stale (the embedded database never refreshes them by itself). Now
-- every lookup is by primary key, whatever the statistics say (test/maintenance.test.ts).
CREATE OR REPLACE FUNCTION rsvp.reserve(p_requests jsonb)
  RETURNS TABLE (out_request uuid, out_kind text, out_row rsvp.reservations)
  LANGUAGE plpgsql AS $$
DECLARE
  total integer := jsonb_array_length(p_requests);
  replayed uuid[] := '{}';
  done uuid[] := '{}';
  created rsvp.reservations[];
BEGIN
  PERFORM rsvp.lock_keys(array_agg(k)) FROM (
    SELECT q.resource_id AS k FROM jsonb_to_recordset(p_requests) AS q(resource_id text)
    UNION ALL
    SELECT 'request:' || q.user_id || ':' || q.request_id
      FROM jsonb_to_recordset(p_requests) AS q(user_id text, request_id text)
     WHERE q.request_id IS NOT NULL) AS keys;

  IF jsonb_path_exists(p_requests, '$[*].request_id ? (@ != null)') THEN
    -- One primary-key lookup per request (LIMIT 1 keeps the planner from turning it into a
    -- join, which it hashes over the whole key table whenever that looks cheaper).
    RETURN QUERY
      SELECT q.id, CASE WHEN k.request_hash = q.request_hash THEN 'replayed' ELSE 'mismatch' END, r.x
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

  FOR attempt IN 1..2 LOOP
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
       WHERE q.id <> ALL (replayed) AND q.id <> ALL (done)
       ORDER BY q.ord
      ON CONFLICT DO NOTHING
      RETURNING t
    )
    SELECT array_agg(ins.t) INTO created FROM ins;
    RETURN QUERY SELECT c.id, 'created', c FROM unnest(created) AS c;
    done := done || ARRAY(SELECT c.id FROM unnest(created) AS c);
    -- Everything in: done. Otherwise an expired hold may stand in the way: release, retry once.
    EXIT WHEN cardinality(replayed) + cardinality(done) = total OR attempt = 2;
    EXIT WHEN rsvp.release_expired_in_way(p_requests) = 0;
  END LOOP;

  IF cardinality(replayed) + cardinality(done) < total THEN
    RETURN QUERY
      SELECT q.id, 'conflict', c.found
        FROM jsonb_to_recordset(p_requests)
          AS q(id uuid, resource_id text, start_at timestamptz, end_at timestamptz)
        CROSS JOIN LATERAL (
          SELECT x AS found FROM rsvp.reservations AS x
           WHERE x.resource_id = q.resource_id AND x.status <> 'cancelled' AND x.id <> q.id
             AND x.timespan && tstzrange(q.start_at, q.end_at, '[)')
           ORDER BY lower(x.timespan)
           LIMIT 1
        ) AS c
       WHERE q.id <> ALL (replayed) AND q.id <> ALL (done);
  END IF;

  INSERT INTO rsvp.reserve_requests (user_id, request_id, request_hash, reservation_id)
  SELECT q.user_id, q.request_id, q.request_hash, q.id
    FROM jsonb_to_recordset(p_requests) AS q(id uuid, user_id text, request_id text, request_hash text)
   WHERE q.request_id IS NOT NULL AND q.id = ANY (done)
  ON CONFLICT DO NOTHING;
END;
$$;
