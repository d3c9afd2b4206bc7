-- Pool reserves travel in rsvp.reserve's batches, as plain reserves do: a request that names
-- a pool (and no resource) takes the first member of the pool, in id order, that has room.
-- The pool work lives in rsvp.reserve_pooled; rsvp.reserve is as in 007 plus three marked
-- additions: it reads the members of the pools requested, locks them with the rest of its
-- keys in its one sorted lock_keys call, and has rsvp.reserve_pooled answer the pool requests
-- before its own inserts, which then pass over them as over the refused ones.
--
-- And one change of cost: rsvp.reserve finds a request's resource by a primary-key probe per
-- request (LATERAL ... LIMIT 1) in its rules and its per-pool-quota locks. As joins, their
-- cached plans hashed the whole resources table on every call, so that a reserve cost grew
-- with the number of resources registered (a one-row reserve about 3× with 5000 of them).

-- Pool requests of an rsvp.reserve batch: each takes the first member of its pool, in id
-- order, that has room for it. p_members are the members the caller has locked (the pools as
-- read before locking); only those still in the pool are tried. p_skip: requests already
-- answered (replayed). Called with every lock held, it answers each pool request once:
--   'created'    the reservation, on the member that took it;
--   'empty'      no member (out_message: the pool);
--   'rule'       no member's booking rules accept the window (the first member's rule named),
--                or the user is at quota at every member that could hold it (its quota named);
--   'invalid'    no member that accepts the window has as many units as asked for;
--   'conflict'   no member has room: out_row a reservation in the way at the first member
--                where the user is not at quota, out_free the units free there at the tightest
--                instant, out_message the pool.
-- Members are tried by inserting, never by looking first: the exclusion constraint and the
-- trigger (capacity, quotas) decide, and a row they refuse is skipped. All the requests try
-- their first candidate in one statement; those refused there then try every candidate in a
-- second one, where a request's first row to go in makes its later ones primary-key clashes.
-- The requests are thus served as if one after another: those whose first candidate took
-- them, then the others in order, each on the first member with room at its turn.
CREATE FUNCTION rsvp.reserve_pooled(p_requests jsonb, p_members text[], p_skip uuid[])
  RETURNS TABLE (out_request uuid, out_kind text, out_row rsvp.reservations, out_message text,
                 out_free integer)
  LANGUAGE plpgsql AS $$
DECLARE
  items rsvp.group_item[];
  -- One row per request and candidate member (resource_id), by request then member id.
  tries rsvp.group_item[];
  item rsvp.group_item;
  member text;
  why_kind text;
  why_message text;
  why_free integer;
  why_at timestamptz;
  quota_message text;
  left_over bigint;
  made bigint;
BEGIN
  SELECT array_agg(ROW(q.ord, q.id, q.user_id, NULL, q.pool, q.status,
                       tstzrange(q.start_at, q.end_at, '[)'), q.note,
                       COALESCE(q.expires_at, now() + make_interval(secs => q.hold_seconds)),
                       COALESCE(q.quantity, 1))::rsvp.group_item ORDER BY q.ord)
    INTO items
    FROM ROWS FROM (jsonb_to_recordset(p_requests)
           AS (id uuid, user_id text, pool text, status rsvp.reservation_status,
               start_at timestamptz, end_at timestamptz, note text, expires_at timestamptz,
               hold_seconds double precision, quantity integer))
         WITH ORDINALITY AS q(id, user_id, pool, status, start_at, end_at, note, expires_at,
                              hold_seconds, quantity, ord)
   WHERE q.pool IS NOT NULL AND q.id <> ALL (p_skip);
  IF items IS NULL THEN
    RETURN;
  END IF;

  -- Refused before any insert, as reserve_group refuses a pool item: no member, no member
  -- whose rules accept the window, or none of those with enough units. The others get
  -- their candidates: the members that accept the window and could hold the quantity.
  RETURN QUERY
    SELECT i.id, v.kind, NULL::rsvp.reservations, v.message, NULL::integer
      FROM unnest(items) AS i
     CROSS JOIN LATERAL (
       SELECT count(*) AS n, bool_or(m.broken IS NULL) AS accepting,
              (array_agg(m.broken ORDER BY m.id) FILTER (WHERE m.broken IS NOT NULL))[1] AS broken,
              count(*) FILTER (WHERE m.broken IS NULL AND m.fits) AS fitting
         FROM (SELECT r.id, rsvp.broken_rule(r, i.status, i.span) AS broken,
                      i.status = 'blocked' OR greatest(r.capacity, 1) >= i.quantity AS fits
                 FROM rsvp.resources AS r
                WHERE r.pool = i.pool AND r.pool <> '' AND r.id = ANY (p_members)) AS m
     ) AS c
     CROSS JOIN LATERAL (
       SELECT CASE WHEN c.n = 0 THEN 'empty' WHEN NOT c.accepting THEN 'rule' ELSE 'invalid' END
                AS kind,
              CASE WHEN c.n = 0 THEN i.pool WHEN NOT c.accepting THEN c.broken
                   ELSE format('no resource of pool %s that accepts the window holds %s units',
                               i.pool, i.quantity) END AS message
     ) AS v
     WHERE c.fitting = 0
     ORDER BY i.ord;
  SELECT array_agg(ROW(i.ord, i.id, i.user_id, r.id, i.pool, i.status, i.span, i.note,
                       i.expires_at, i.quantity)::rsvp.group_item ORDER BY i.ord, r.id)
    INTO tries
    FROM unnest(items) AS i
   CROSS JOIN LATERAL (
     SELECT r.* FROM rsvp.resources AS r
      WHERE r.pool = i.pool AND r.pool <> '' AND r.id = ANY (p_members)) AS r
   WHERE rsvp.broken_rule(r, i.status, i.span) IS NULL
     AND (i.status = 'blocked' OR greatest(r.capacity, 1) >= i.quantity);
  IF tries IS NULL THEN
    RETURN;
  END IF;

  -- The first candidates, as plain reserve inserts a batch.
  RETURN QUERY
    WITH ins AS (
      INSERT INTO rsvp.reservations AS t (id, user_id, resource_id, status, timespan, note,
                                          expires_at, quantity)
      SELECT DISTINCT ON (c.ord) c.id, c.user_id, c.resource_id, c.status, c.span, c.note,
             c.expires_at, c.quantity
        FROM unnest(tries) AS c ORDER BY c.ord, c.resource_id
      ON CONFLICT DO NOTHING
      RETURNING t
    )
    SELECT (ins.t).id, 'created', ins.t, NULL::text, NULL::integer FROM ins;
  GET DIAGNOSTICS made = ROW_COUNT;
  left_over := (SELECT count(DISTINCT c.ord) FROM unnest(tries) AS c) - made;
  -- Then every candidate of the requests still out; when an expired hold stood in the way of
  -- one, it is released and they try once more.
  FOR attempt IN 1..2 LOOP
    EXIT WHEN left_over = 0;
    RETURN QUERY
      WITH ins AS (
        INSERT INTO rsvp.reservations AS t (id, user_id, resource_id, status, timespan, note,
                                            expires_at, quantity)
        SELECT c.id, c.user_id, c.resource_id, c.status, c.span, c.note, c.expires_at, c.quantity
          FROM unnest(tries) AS c
         WHERE NOT EXISTS (SELECT 1 FROM rsvp.reservations AS y WHERE y.id = c.id)
         ORDER BY c.ord, c.resource_id
        ON CONFLICT DO NOTHING
        RETURNING t
      )
      SELECT (ins.t).id, 'created', ins.t, NULL::text, NULL::integer FROM ins;
    GET DIAGNOSTICS made = ROW_COUNT;
    left_over := left_over - made;
    EXIT WHEN left_over = 0 OR attempt = 2;
    EXIT WHEN rsvp.release_expired_in_way(
      (SELECT jsonb_agg(jsonb_build_object('resource_id', c.resource_id, 'start_at', lower(c.span),
                                           'end_at', upper(c.span)))
         FROM unnest(tries) AS c
        WHERE NOT EXISTS (SELECT 1 FROM rsvp.reservations AS y WHERE y.id = c.id))) = 0;
  END LOOP;
  IF left_over = 0 THEN
    RETURN;
  END IF;

  -- Why not, as reserve_group says it: a clash at the first candidate where the user is not
  -- at quota; when the user is at quota at every one, the first candidate's quota.
  FOREACH item IN ARRAY items LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM rsvp.reservations AS y WHERE y.id = item.id)
               OR NOT EXISTS (SELECT 1 FROM unnest(tries) AS c WHERE c.id = item.id);
    quota_message := NULL;
    why_kind := NULL;
    FOR member IN SELECT c.resource_id FROM unnest(tries) AS c WHERE c.id = item.id
                   ORDER BY c.resource_id LOOP
      SELECT v.kind, v.message, v.free, v.at INTO why_kind, why_message, why_free, why_at
        FROM rsvp.resources AS r
       CROSS JOIN LATERAL rsvp.refusal(r, r.id, item.user_id, item.status, item.span,
                                       item.quantity, NULL) AS v
       WHERE r.id = member;
      EXIT WHEN why_kind = 'conflict';
      quota_message := coalesce(quota_message, why_message);
    END LOOP;
    IF why_kind = 'conflict' THEN
      RETURN QUERY SELECT item.id, 'conflict', rsvp.occupant(member, why_at), item.pool, why_free;
    ELSE
      RETURN QUERY SELECT item.id, 'rule', NULL::rsvp.reservations, quota_message, NULL::integer;
    END IF;
  END LOOP;
END;
$$;

-- rsvp.reserve as in 007, plus pool requests, and its resources found by key (see the top of
-- this file).
CREATE OR REPLACE FUNCTION rsvp.reserve(p_requests jsonb)
  RETURNS TABLE (out_request uuid, out_kind text, out_row rsvp.reservations, out_message text,
                 out_free integer)
  LANGUAGE plpgsql AS $$
DECLARE
  total integer := jsonb_array_length(p_requests);
  keyed boolean := jsonb_path_exists(p_requests, '$[*].request_id ? (@ != null)');
  replayed uuid[] := '{}';
  refused uuid[] := '{}';
  -- Pool requests (pool set, resource_id null) and the members of their pools, read before
  -- the locks are taken: only those are locked, so only those are tried (rsvp.reserve_pooled).
  pooled boolean := jsonb_path_exists(p_requests, '$[*].pool ? (@ != null)');
  members text[] := '{}';
  answered bigint;
  made bigint;
BEGIN
  IF pooled THEN
    SELECT coalesce(array_agg(m.id), '{}') INTO members
      FROM (SELECT DISTINCT q.pool FROM jsonb_to_recordset(p_requests) AS q(pool text)
             WHERE q.pool IS NOT NULL) AS p
     CROSS JOIN LATERAL (
       SELECT r.id FROM rsvp.resources AS r WHERE r.pool = p.pool AND r.pool <> '') AS m;
  END IF;
  -- rsvp.write_keys, spelled out: one statement, as before, plus a join that finds nothing
  -- unless a quota counts a whole pool, plus every member of every pool requested (a quota
  -- that counts a member's pool counts this same pool). All of a batch's locks are taken in
  -- this one sorted call, as every other writer takes its own, so batches with pools never
  -- wait on each other (or on groups) in a cycle.
  PERFORM rsvp.lock_keys(array_agg(k)) FROM (
    SELECT unnest(members) AS k
    UNION ALL
    SELECT q.resource_id FROM jsonb_to_recordset(p_requests) AS q(resource_id text)
    UNION ALL
    SELECT 'request:' || q.user_id || ':' || q.request_id
      FROM jsonb_to_recordset(p_requests) AS q(user_id text, request_id text)
     WHERE q.request_id IS NOT NULL
    UNION ALL
    SELECT m.id FROM jsonb_to_recordset(p_requests) AS q(resource_id text)
     -- By key, as the rules below find a request's resource.
     CROSS JOIN LATERAL (
       SELECT r.pool FROM rsvp.resources AS r
        WHERE r.id = q.resource_id AND r.quota_per_pool AND r.pool <> '' LIMIT 1) AS r
     CROSS JOIN LATERAL (
       SELECT m.id FROM rsvp.resources AS m WHERE m.pool = r.pool AND m.pool <> '') AS m) AS keys;

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
     -- Its resource by a key probe (LATERAL ... LIMIT 1): a join's cached plan hashed the
     -- whole resources table on every call.
     CROSS JOIN LATERAL (
       SELECT res FROM rsvp.resources AS res WHERE res.id = q.resource_id LIMIT 1) AS r
     CROSS JOIN LATERAL (
       SELECT rsvp.broken_rule(r.res, q.status, tstzrange(q.start_at, q.end_at, '[)')) AS message) AS b
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

  -- Pool requests are answered here, before the others (a batch's requests are concurrent:
  -- any order is one they could have arrived in). The rest of this function then passes over
  -- them as it passes over the refused ones.
  IF pooled THEN
    RETURN QUERY SELECT * FROM rsvp.reserve_pooled(p_requests, members, replayed);
    refused := refused || ARRAY(
      SELECT q.id FROM jsonb_to_recordset(p_requests) AS q(id uuid, pool text)
       WHERE q.pool IS NOT NULL AND q.id <> ALL (replayed));
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
