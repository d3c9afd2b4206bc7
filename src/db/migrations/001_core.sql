-- Core schema: reservations whose windows never overlap per resource, enforced by Postgres itself.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TYPE rsvp.reservation_status AS ENUM ('unknown', 'pending', 'confirmed', 'blocked', 'cancelled');
CREATE TYPE rsvp.reservation_update_type AS ENUM ('unknown', 'create', 'update', 'delete');

CREATE TABLE rsvp.reservations (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id varchar(64) NOT NULL,
  status rsvp.reservation_status NOT NULL DEFAULT 'pending',
  resource_id varchar(64) NOT NULL,
  timespan tstzrange NOT NULL,
  note text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT reservations_pkey PRIMARY KEY (id),
  CONSTRAINT reservations_ids_not_empty CHECK (user_id <> '' AND resource_id <> ''),
  CONSTRAINT reservations_status_known CHECK (status <> 'unknown'),
  -- Half-open, bounded, non-empty: [start, end) with start < end.
  CONSTRAINT reservations_timespan_valid CHECK (
    NOT isempty(timespan) AND NOT lower_inf(timespan) AND NOT upper_inf(timespan)
    AND lower_inc(timespan) AND NOT upper_inc(timespan)
  ),
  -- The guarantee: no two live reservations of one resource overlap, under any concurrency.
  CONSTRAINT reservations_conflict EXCLUDE USING gist (resource_id WITH =, timespan WITH &&)
    WHERE (status <> 'cancelled')
);

-- The seed's indexes, widened with (lower(timespan), id) so that `query` can page by keyset
-- in start order without sorting.
CREATE INDEX reservations_resource_id_idx ON rsvp.reservations (resource_id, lower(timespan), id);
CREATE INDEX reservations_user_id_idx ON rsvp.reservations (user_id, lower(timespan), id);
CREATE INDEX reservations_start_idx ON rsvp.reservations (lower(timespan), id);

-- Exact microseconds since the epoch: JavaScript's Date only holds milliseconds.
CREATE FUNCTION rsvp.to_micros(t timestamptz) RETURNS bigint
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN (extract(epoch FROM t) * 1000000)::bigint;

-- Serialises writers of one resource for the rest of the transaction. Concurrent conflicting
-- inserts into an exclusion constraint otherwise deadlock in chains, and Postgres breaks one
-- chain per deadlock_timeout. 7397 namespaces rsvp's advisory locks.
CREATE FUNCTION rsvp.lock_resource(p_resource_id text) RETURNS void
  LANGUAGE sql
  RETURN pg_advisory_xact_lock(7397, hashtext(p_resource_id));

-- Reserves a batch of windows. Input: a JSON array of
-- {id, user_id, resource_id, status, start_at, end_at, note}. Output: each inserted row
-- (out_conflict_for NULL) and, for each request that clashed, one live row it clashed with
-- (out_conflict_for = that request's id). Rows are inserted in array order, so within a batch
-- the earlier request wins, as it would have across separate calls.
CREATE FUNCTION rsvp.reserve(p_requests jsonb)
  RETURNS TABLE (out_conflict_for uuid, out_row rsvp.reservations)
  LANGUAGE plpgsql AS $$
BEGIN
  -- A fixed lock order: two batches never wait on each other in a cycle.
  PERFORM rsvp.lock_resource(x.resource_id)
     FROM (SELECT DISTINCT q.resource_id
             FROM jsonb_to_recordset(p_requests) AS q(resource_id text)
            ORDER BY 1) AS x;

  RETURN QUERY
    WITH ins AS (
      INSERT INTO rsvp.reservations AS t (id, user_id, resource_id, status, timespan, note)
      SELECT q.id, q.user_id, q.resource_id, q.status, tstzrange(q.start_at, q.end_at, '[)'), q.note
        FROM ROWS FROM (jsonb_to_recordset(p_requests)
               AS (id uuid, user_id text, resource_id text, status rsvp.reservation_status,
                   start_at timestamptz, end_at timestamptz, note text))
             WITH ORDINALITY AS q(id, user_id, resource_id, status, start_at, end_at, note, ord)
       ORDER BY q.ord
      ON CONFLICT DO NOTHING
      RETURNING t
    )
    SELECT NULL::uuid, ins.t FROM ins;

  RETURN QUERY
    SELECT q.id, c.found
      FROM jsonb_to_recordset(p_requests)
        AS q(id uuid, resource_id text, start_at timestamptz, end_at timestamptz)
      CROSS JOIN LATERAL (
        SELECT x AS found FROM rsvp.reservations AS x
         WHERE x.resource_id = q.resource_id AND x.status <> 'cancelled' AND x.id <> q.id
           AND x.timespan && tstzrange(q.start_at, q.end_at, '[)')
         ORDER BY lower(x.timespan)
         LIMIT 1
      ) AS c
     WHERE NOT EXISTS (SELECT 1 FROM rsvp.reservations AS y WHERE y.id = q.id);
END;
$$;

-- Locks the reservation's resource (resource_id never changes) and returns the row as it
-- stands once the lock is held; NULL for an unknown id. Every write takes the lock before it
-- writes, so changes to one resource commit in the order their transactions began writing.
CREATE FUNCTION rsvp.lock_reservation(p_id uuid) RETURNS rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  found_row rsvp.reservations;
BEGIN
  SELECT * INTO found_row FROM rsvp.reservations WHERE id = p_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM rsvp.lock_resource(found_row.resource_id);
  SELECT * INTO found_row FROM rsvp.reservations WHERE id = p_id;
  RETURN found_row;
END;
$$;

-- pending -> confirmed. Returns the row as it stands afterwards (unchanged when it was not
-- pending: the caller decides whether that is fine or a failed precondition); no row if unknown.
CREATE FUNCTION rsvp.confirm(p_id uuid) RETURNS SETOF rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation(p_id);
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status = 'pending' THEN
    UPDATE rsvp.reservations SET status = 'confirmed', updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  RETURN NEXT cur;
END;
$$;

-- Any live status -> cancelled; the window is free at once and the row is kept.
CREATE FUNCTION rsvp.cancel(p_id uuid) RETURNS SETOF rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation(p_id);
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status <> 'cancelled' THEN
    UPDATE rsvp.reservations SET status = 'cancelled', updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  RETURN NEXT cur;
END;
$$;

-- Replaces the note of a live reservation; a cancelled one is returned unchanged.
CREATE FUNCTION rsvp.update_note(p_id uuid, p_note text) RETURNS SETOF rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation(p_id);
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status <> 'cancelled' AND cur.note IS DISTINCT FROM p_note THEN
    UPDATE rsvp.reservations SET note = p_note, updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  RETURN NEXT cur;
END;
$$;
