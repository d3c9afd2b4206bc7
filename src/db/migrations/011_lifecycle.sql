-- The life of a booking: check-in and no-show release, a waitlist promoted in the transaction
-- that frees a window, approval, cancel reasons.

-- WAITING: a reservation that occupies nothing until a window frees for it. It comes after
-- 'cancelled' in the enum's order, and a value added in a transaction cannot be used before
-- that transaction commits: the SQL-language bodies and index predicates below therefore name
-- the live statuses as "before 'cancelled'" (pending, confirmed, blocked) and the waiting one as
-- "after 'cancelled'". PL/pgSQL bodies are parsed when first run and spell it out.
ALTER TYPE rsvp.reservation_status ADD VALUE 'waiting' AFTER 'cancelled';

-- checked_in_at: when the owner showed up (set once). cancel_reason: why it was cancelled
-- ("no-show" and "wait expired" by the service). wait_status and wait_hold: what a waiting
-- reservation becomes when promoted (its hold, if any, starts then).
ALTER TABLE rsvp.reservations
  ADD COLUMN checked_in_at timestamptz,
  ADD COLUMN cancel_reason text NOT NULL DEFAULT '',
  ADD COLUMN wait_status rsvp.reservation_status,
  ADD COLUMN wait_hold interval;

ALTER TABLE rsvp.reservation_changes
  ADD COLUMN checked_in_at timestamptz,
  ADD COLUMN cancel_reason text NOT NULL DEFAULT '',
  ADD COLUMN prev_checked_in_at timestamptz;

-- release_after: a reservation not checked in by start + release_after is released (no-show);
-- release_since: when that rule took effect, so that turning it on never rewrites history.
-- check_in_opens: how long before its start a reservation can be checked in (NULL = 15 min).
-- approval: reservations by non-admins are stored pending, and only an admin confirms them.
ALTER TABLE rsvp.resources
  ADD COLUMN release_after interval,
  ADD COLUMN release_since timestamptz,
  ADD COLUMN check_in_opens interval,
  ADD COLUMN approval boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT resources_lifecycle_valid CHECK (
    release_after >= '0' AND check_in_opens >= '0'
    AND rsvp.is_fixed_length(release_after) AND rsvp.is_fixed_length(check_in_opens));

-- The waiting reservations of a resource, oldest first: promotion, and (few as they are, all
-- of them) the expiry sweep.
CREATE INDEX reservations_waiting_idx ON rsvp.reservations (resource_id, created_at, id)
  WHERE status > 'cancelled';
-- Live reservations not checked in, per resource by start: the no-show sweep's range scan.
CREATE INDEX reservations_unchecked_idx ON rsvp.reservations (resource_id, lower(timespan))
  WHERE status IN ('pending', 'confirmed') AND checked_in_at IS NULL;

-- What a reservation uses of its resource over time: live ones only (a waiting one uses nothing).
CREATE OR REPLACE FUNCTION rsvp.use_segments(p_resource_id text, p_span tstzrange, p_cap integer, p_exclude uuid)
  RETURNS TABLE(seg tstzrange, used integer)
  LANGUAGE sql STABLE AS $$
  WITH live AS (
    SELECT x.occupied * p_span AS o,
           CASE WHEN x.status = 'blocked' THEN p_cap ELSE x.quantity END AS q
      FROM rsvp.reservations AS x
     WHERE x.resource_id = p_resource_id AND x.status < 'cancelled'
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

CREATE OR REPLACE FUNCTION rsvp.occupant(p_resource_id text, p_at timestamptz) RETURNS rsvp.reservations
  LANGUAGE sql STABLE
  RETURN (SELECT x FROM rsvp.reservations AS x
           WHERE x.resource_id = p_resource_id AND x.status < 'cancelled'
             AND (x.expires_at IS NULL OR x.expires_at > now()) AND x.occupied @> p_at
           ORDER BY lower(x.timespan) LIMIT 1);

-- The trigger that applies a resource's buffers, rules and admission. A waiting reservation
-- gets its buffers but no admission and no exclusion (exclusive NULL): it occupies nothing.
-- Its promotion (status from waiting to live) is admitted like an insert, without the rules
-- (they were checked when it was asked for; min_notice would refuse every late promotion).
CREATE OR REPLACE FUNCTION rsvp.apply_resource() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  res rsvp.resources;
  broken text;
  moved boolean := TG_OP = 'INSERT' OR NEW.timespan <> OLD.timespan;
  promoted boolean := TG_OP = 'UPDATE' AND OLD.status = 'waiting'
                      AND NEW.status NOT IN ('waiting', 'cancelled');
BEGIN
  IF NOT moved AND NOT promoted AND NEW.quantity = OLD.quantity THEN
    RETURN NEW;
  END IF;
  SELECT * INTO res FROM rsvp.resources WHERE id = NEW.resource_id;
  IF NEW.status = 'waiting' THEN
    NEW.buffer_before := coalesce(res.buffer_before, '0');
    NEW.buffer_after := coalesce(res.buffer_after, '0');
    NEW.exclusive := NULL;
    RETURN NEW;
  END IF;
  IF res.id IS NULL THEN
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

-- The same function admits a promotion: a second trigger, so that the common status changes
-- (confirm, cancel) never call it. Its condition names 'waiting' by order (see the top).
CREATE TRIGGER reservations_apply_resource_on_promotion
  BEFORE UPDATE OF status ON rsvp.reservations
  FOR EACH ROW
  WHEN (OLD.status > 'cancelled' AND NEW.status < 'cancelled')
  EXECUTE FUNCTION rsvp.apply_resource();

-- Hands freed room to the waiting reservations of a resource, oldest first: each is promoted
-- to the status it asked for when the exclusion constraint and admission (capacity, quota)
-- take it, and otherwise stays waiting while later ones that fit go ahead. Room only shrinks
-- as the pass goes on, so one pass is enough. The caller holds the resource's write lock.
CREATE FUNCTION rsvp.promote(p_resource_id text) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  w record;
  promoted integer := 0;
BEGIN
  FOR w IN
    SELECT x.id, x.wait_status, x.wait_hold FROM rsvp.reservations AS x
     WHERE x.resource_id = p_resource_id AND x.status = 'waiting' AND lower(x.timespan) > now()
     ORDER BY x.created_at, x.id
  LOOP
    BEGIN
      UPDATE rsvp.reservations
         SET status = w.wait_status, expires_at = now() + w.wait_hold, wait_status = NULL,
             wait_hold = NULL, updated_at = now()
       WHERE id = w.id;
      promoted := promoted + 1;
    EXCEPTION WHEN exclusion_violation OR SQLSTATE 'RV011' OR SQLSTATE 'RV012' OR SQLSTATE 'RV013' THEN
      -- Does not fit yet: it keeps waiting.
    END;
  END LOOP;
  RETURN promoted;
END;
$$;

-- Every write that frees room (a cancel, a release, a reschedule away, fewer units) promotes
-- in its own transaction, under the lock it already holds on the resource. Triggers of one
-- event fire in name order: this one after reservations_record_change, so the change log has
-- the free before the promotions it causes.
CREATE FUNCTION rsvp.promote_freed() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rsvp.promote(OLD.resource_id);
  RETURN NULL;
END;
$$;

CREATE TRIGGER reservations_release_to_waiting
  AFTER UPDATE ON rsvp.reservations
  FOR EACH ROW
  WHEN (OLD.status IN ('pending', 'confirmed', 'blocked')
        AND (NEW.status = 'cancelled' OR NEW.timespan <> OLD.timespan
             OR NEW.quantity < OLD.quantity))
  EXECUTE FUNCTION rsvp.promote_freed();

-- record_change as in 008, plus check-in and the cancel reason.
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
        OR NEW.quantity IS DISTINCT FROM OLD.quantity
        OR NEW.checked_in_at IS DISTINCT FROM OLD.checked_in_at THEN
    kind := 'update';
    r := NEW;
  ELSE
    RETURN NULL;
  END IF;
  IF kind = 'update' THEN
    INSERT INTO rsvp.reservation_changes
           (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at,
            expires_at, group_id, quantity, checked_in_at, cancel_reason, prev_status,
            prev_resource_id, prev_timespan, prev_note, prev_expires_at, prev_updated_at,
            prev_quantity, prev_checked_in_at)
    VALUES (kind, r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
            r.updated_at, r.expires_at, r.group_id, r.quantity, r.checked_in_at, r.cancel_reason,
            OLD.status, OLD.resource_id, OLD.timespan, OLD.note, OLD.expires_at, OLD.updated_at,
            OLD.quantity, OLD.checked_in_at);
  ELSE
    INSERT INTO rsvp.reservation_changes
           (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at,
            expires_at, group_id, quantity, checked_in_at, cancel_reason)
    VALUES (kind, r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
            r.updated_at, r.expires_at, r.group_id, r.quantity, r.checked_in_at, r.cancel_reason);
  END IF;
  RETURN NULL;
END;
$$;

-- cancel with a reason, under the write lock of the resource (and of its pool when a quota
-- counts the pool: a promotion it causes is admitted under that quota).
DROP FUNCTION rsvp.cancel(uuid);
CREATE FUNCTION rsvp.cancel(p_id uuid, p_reason text) RETURNS SETOF rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation_keys(p_id);
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.status <> 'cancelled' THEN
    UPDATE rsvp.reservations SET status = 'cancelled', cancel_reason = p_reason, updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  RETURN NEXT cur;
END;
$$;

DROP FUNCTION rsvp.cancel_following(uuid, text);
CREATE FUNCTION rsvp.cancel_following(p_id uuid, p_user_id text, p_reason text) RETURNS SETOF rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations;
BEGIN
  SELECT * INTO cur FROM rsvp.reservations WHERE id = p_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF cur.group_id IS NULL THEN
    RETURN QUERY SELECT * FROM rsvp.cancel(p_id, p_reason);
    RETURN;
  END IF;
  PERFORM rsvp.lock_keys(rsvp.write_keys(array_agg(DISTINCT g.resource_id::text)))
     FROM rsvp.reservations AS g WHERE g.group_id = cur.group_id;
  SELECT * INTO cur FROM rsvp.reservations WHERE id = p_id;
  UPDATE rsvp.reservations AS g SET status = 'cancelled', cancel_reason = p_reason, updated_at = now()
   WHERE g.group_id = cur.group_id AND g.status <> 'cancelled'
     AND lower(g.timespan) >= lower(cur.timespan)
     AND (g.id = p_id OR p_user_id IS NULL OR g.user_id = p_user_id);
  RETURN QUERY SELECT * FROM rsvp.reservations WHERE id = p_id;
END;
$$;

-- confirm as before, under the write lock (an expired hold it releases may promote).
CREATE OR REPLACE FUNCTION rsvp.confirm(p_id uuid) RETURNS SETOF rsvp.reservations
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation_keys(p_id);
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

-- Holds past their expiry, released under the write lock of their resource.
CREATE OR REPLACE FUNCTION rsvp.release_expired(p_resource_id text) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  released bigint;
BEGIN
  PERFORM rsvp.lock_keys(rsvp.write_keys(ARRAY[p_resource_id]));
  UPDATE rsvp.reservations SET status = 'cancelled', updated_at = now()
   WHERE resource_id = p_resource_id AND status = 'pending' AND expires_at <= now();
  GET DIAGNOSTICS released = ROW_COUNT;
  RETURN released;
END;
$$;

-- When a reservation of a resource is due to be released as a no-show: start + release_after,
-- under the rules as they are now, for reservations due since the rule took effect.
CREATE FUNCTION rsvp.no_show_due(res rsvp.resources, r rsvp.reservations) RETURNS boolean
  LANGUAGE sql STABLE
  RETURN res.release_after IS NOT NULL AND r.status IN ('pending', 'confirmed')
     AND r.checked_in_at IS NULL AND (r.expires_at IS NULL OR r.expires_at > now())
     AND lower(r.timespan) + res.release_after <= now()
     AND lower(r.timespan) + res.release_after > res.release_since;

-- Resources with a no-show to release or a wait that expired, at most p_limit. Per resource
-- with the rule, one probe of its reservations not checked in (LIMIT 1: never a scan of them all).
CREATE FUNCTION rsvp.lapsed_resources(p_limit integer) RETURNS SETOF text
  LANGUAGE sql STABLE AS $$
  SELECT t.id FROM (
    SELECT res.id FROM rsvp.resources AS res
     CROSS JOIN LATERAL (
       SELECT 1 FROM rsvp.reservations AS x
        WHERE x.resource_id = res.id AND x.status IN ('pending', 'confirmed')
          AND x.checked_in_at IS NULL
          AND lower(x.timespan) > res.release_since - res.release_after
          AND lower(x.timespan) <= now() - res.release_after
          AND rsvp.no_show_due(res, x)
        LIMIT 1) AS due
     WHERE res.release_after IS NOT NULL
    UNION
    SELECT x.resource_id FROM rsvp.reservations AS x
     WHERE x.status > 'cancelled' AND lower(x.timespan) <= now()) AS t
   LIMIT p_limit
$$;

-- Releases one resource's no-shows (cancel_reason "no-show") and cancels its waits whose start
-- has come ("wait expired"), under its write lock; the freed room goes to whoever waits.
CREATE FUNCTION rsvp.release_lapsed(p_resource_id text) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  res rsvp.resources;
  released bigint;
  expired bigint;
BEGIN
  PERFORM rsvp.lock_keys(rsvp.write_keys(ARRAY[p_resource_id]));
  UPDATE rsvp.reservations SET status = 'cancelled', cancel_reason = 'wait expired', updated_at = now()
   WHERE resource_id = p_resource_id AND status = 'waiting' AND lower(timespan) <= now();
  GET DIAGNOSTICS expired = ROW_COUNT;
  SELECT * INTO res FROM rsvp.resources WHERE id = p_resource_id;
  IF res.release_after IS NULL THEN
    RETURN expired;
  END IF;
  UPDATE rsvp.reservations AS x SET status = 'cancelled', cancel_reason = 'no-show', updated_at = now()
   WHERE x.resource_id = p_resource_id AND x.status IN ('pending', 'confirmed')
     AND x.checked_in_at IS NULL
     AND lower(x.timespan) > res.release_since - res.release_after
     AND lower(x.timespan) <= now() - res.release_after
     AND rsvp.no_show_due(res, x);
  GET DIAGNOSTICS released = ROW_COUNT;
  RETURN released + expired;
END;
$$;

-- Checks a reservation in: sets checked_in_at once, from start - check_in_opens until its end.
-- out_kind: 'checked_in' (now or before), 'not_live' (cancelled, waiting, blocked, an expired
-- hold, or a no-show already due: released here), 'early' (out_at: when it opens), 'late'.
CREATE FUNCTION rsvp.check_in(p_id uuid)
  RETURNS TABLE(out_kind text, out_row rsvp.reservations, out_at timestamptz)
  LANGUAGE plpgsql AS $$
DECLARE
  cur rsvp.reservations := rsvp.lock_reservation_keys(p_id);
  res rsvp.resources;
  opens timestamptz;
BEGIN
  IF cur.id IS NULL THEN
    RETURN;
  END IF;
  IF cur.checked_in_at IS NOT NULL AND cur.status IN ('pending', 'confirmed') THEN
    RETURN QUERY SELECT 'checked_in', cur, NULL::timestamptz;
    RETURN;
  END IF;
  SELECT * INTO res FROM rsvp.resources WHERE id = cur.resource_id;
  IF cur.status = 'pending' AND cur.expires_at <= now() THEN
    UPDATE rsvp.reservations SET status = 'cancelled', updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  ELSIF rsvp.no_show_due(res, cur) THEN
    UPDATE rsvp.reservations SET status = 'cancelled', cancel_reason = 'no-show', updated_at = now()
     WHERE id = p_id RETURNING * INTO cur;
  END IF;
  IF cur.status NOT IN ('pending', 'confirmed') THEN
    RETURN QUERY SELECT 'not_live', cur, NULL::timestamptz;
    RETURN;
  END IF;
  opens := lower(cur.timespan) - coalesce(res.check_in_opens, interval '15 minutes');
  IF now() < opens THEN
    RETURN QUERY SELECT 'early', cur, opens;
    RETURN;
  END IF;
  IF now() >= upper(cur.timespan) THEN
    RETURN QUERY SELECT 'late', cur, upper(cur.timespan);
    RETURN;
  END IF;
  UPDATE rsvp.reservations SET checked_in_at = now(), updated_at = now()
   WHERE id = p_id RETURNING * INTO cur;
  RETURN QUERY SELECT 'checked_in', cur, NULL::timestamptz;
END;
$$;

-- A reserve that waits when its window is taken: in one transaction under the resource's
-- write lock, it books as rsvp.reserve would or, when the window clashes or a counted resource
-- is full, stores the reservation WAITING (occupying nothing). Rules, quotas and idempotency
-- keys apply as for any reserve. out_kind: created, waiting, replayed, mismatch, rule, invalid.
CREATE FUNCTION rsvp.reserve_or_wait(p_request jsonb)
  RETURNS TABLE(out_kind text, out_row rsvp.reservations, out_message text)
  LANGUAGE plpgsql AS $$
DECLARE
  q record;
  res rsvp.resources;
  span tstzrange;
  broken text;
  why record;
  prior rsvp.reserve_requests;
  made rsvp.reservations;
BEGIN
  SELECT * INTO q FROM jsonb_to_record(p_request)
    AS (id uuid, user_id text, resource_id text, status rsvp.reservation_status,
        start_at timestamptz, end_at timestamptz, note text, hold_seconds double precision,
        quantity integer, request_id text, request_hash text);
  span := tstzrange(q.start_at, q.end_at, '[)');
  PERFORM rsvp.lock_keys(rsvp.write_keys(ARRAY[q.resource_id])
                         || array_remove(ARRAY['request:' || q.user_id || ':' || q.request_id], NULL));
  IF q.request_id IS NOT NULL THEN
    SELECT * INTO prior FROM rsvp.reserve_requests AS k
     WHERE k.user_id = q.user_id AND k.request_id = q.request_id;
    IF FOUND THEN
      RETURN QUERY
        SELECT CASE WHEN prior.request_hash = q.request_hash THEN 'replayed' ELSE 'mismatch' END,
               r, NULL::text
          FROM rsvp.reservations AS r WHERE r.id = prior.reservation_id;
      RETURN;
    END IF;
  END IF;
  SELECT * INTO res FROM rsvp.resources AS r WHERE r.id = q.resource_id;
  broken := rsvp.broken_rule(res, q.status, span);
  IF broken IS NOT NULL THEN
    RETURN QUERY SELECT 'rule', NULL::rsvp.reservations, broken;
    RETURN;
  END IF;
  PERFORM rsvp.release_expired_in_way(jsonb_build_array(jsonb_build_object(
    'resource_id', q.resource_id, 'start_at', q.start_at, 'end_at', q.end_at)));
  INSERT INTO rsvp.reservations AS t (id, user_id, resource_id, status, timespan, note, expires_at, quantity)
  VALUES (q.id, q.user_id, q.resource_id, q.status, span, q.note,
          now() + make_interval(secs => q.hold_seconds), q.quantity)
  ON CONFLICT DO NOTHING
  RETURNING t.* INTO made;
  IF made.id IS NULL THEN
    SELECT * INTO why FROM rsvp.refusal(res, q.resource_id, q.user_id, q.status, span, q.quantity, NULL);
    IF why.kind <> 'conflict' THEN
      RETURN QUERY SELECT why.kind, NULL::rsvp.reservations, why.message;
      RETURN;
    END IF;
    INSERT INTO rsvp.reservations AS t (id, user_id, resource_id, status, timespan, note, quantity,
                                        wait_status, wait_hold)
    VALUES (q.id, q.user_id, q.resource_id, 'waiting', span, q.note, q.quantity, q.status,
            make_interval(secs => q.hold_seconds))
    RETURNING t.* INTO made;
  END IF;
  IF q.request_id IS NOT NULL THEN
    INSERT INTO rsvp.reserve_requests (user_id, request_id, request_hash, reservation_id)
    VALUES (q.user_id, q.request_id, q.request_hash, made.id);
  END IF;
  RETURN QUERY SELECT CASE WHEN made.status = 'waiting' THEN 'waiting' ELSE 'created' END, made,
                      NULL::text;
END;
$$;

-- update as in 007, except that a waiting reservation keeps its window and units (cancel and
-- wait again): out_kind 'waiting'.
CREATE OR REPLACE FUNCTION rsvp.update(p_id uuid, p_note text, p_start timestamptz, p_end timestamptz, p_quantity integer)
  RETURNS TABLE(out_kind text, out_row rsvp.reservations, out_message text, out_free integer)
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
  IF cur.status = 'waiting' AND (cur.timespan <> span OR cur.quantity <> qty) THEN
    RETURN QUERY SELECT 'waiting', cur, NULL::text, NULL::integer;
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

-- put_resource as in 007, with the lifecycle rules and approval; raising the capacity (or
-- any change that frees room) promotes whoever waits. Waiting reservations are left as they
-- are by a capacity change: they occupy nothing.
DROP FUNCTION rsvp.put_resource(text, text, text, interval, interval, interval, interval, interval,
                                interval, text, integer, text, integer, interval, boolean);
CREATE FUNCTION rsvp.put_resource(p_id text, p_pool text, p_time_zone text, p_buffer_before interval,
                                  p_buffer_after interval, p_min_duration interval,
                                  p_max_duration interval, p_min_notice interval,
                                  p_max_advance interval, p_note text, p_capacity integer,
                                  p_quota_period text, p_quota_max_reservations integer,
                                  p_quota_max_time interval, p_quota_per_pool boolean,
                                  p_release_after interval, p_check_in_opens interval,
                                  p_approval boolean)
  RETURNS SETOF rsvp.resources
  LANGUAGE plpgsql AS $$
DECLARE
  cap integer := greatest(p_capacity, 1);
  over record;
BEGIN
  PERFORM rsvp.lock_keys(rsvp.write_keys(ARRAY[p_id]));
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
                                     quota_per_pool, release_after, release_since, check_in_opens,
                                     approval)
    VALUES (p_id, p_pool, p_time_zone, p_buffer_before, p_buffer_after, p_min_duration,
            p_max_duration, p_min_notice, p_max_advance, p_note, p_capacity, p_quota_period,
            p_quota_max_reservations, p_quota_max_time, p_quota_per_pool, p_release_after,
            CASE WHEN p_release_after IS NOT NULL THEN now() END, p_check_in_opens, p_approval)
    ON CONFLICT (id) DO UPDATE
      SET pool = EXCLUDED.pool, time_zone = EXCLUDED.time_zone,
          buffer_before = EXCLUDED.buffer_before, buffer_after = EXCLUDED.buffer_after,
          min_duration = EXCLUDED.min_duration, max_duration = EXCLUDED.max_duration,
          min_notice = EXCLUDED.min_notice, max_advance = EXCLUDED.max_advance,
          note = EXCLUDED.note, capacity = EXCLUDED.capacity,
          quota_period = EXCLUDED.quota_period,
          quota_max_reservations = EXCLUDED.quota_max_reservations,
          quota_max_time = EXCLUDED.quota_max_time, quota_per_pool = EXCLUDED.quota_per_pool,
          release_after = EXCLUDED.release_after,
          -- The rule takes effect when it is first set; changing its length keeps that moment.
          release_since = CASE WHEN EXCLUDED.release_after IS NULL THEN NULL
                               ELSE coalesce(r.release_since, now()) END,
          check_in_opens = EXCLUDED.check_in_opens, approval = EXCLUDED.approval,
          updated_at = now()
    RETURNING r.*;
  BEGIN
    UPDATE rsvp.reservations
       SET exclusive = CASE WHEN cap = 1 THEN true END,
           quantity = CASE WHEN status = 'blocked' THEN cap ELSE quantity END
     WHERE resource_id = p_id AND status NOT IN ('cancelled', 'waiting') AND upper(occupied) > now()
       AND (exclusive IS DISTINCT FROM CASE WHEN cap = 1 THEN true END
            OR (status = 'blocked' AND quantity <> cap));
  EXCEPTION WHEN exclusion_violation THEN
    -- A reservation in progress overlaps, in the past, one made while the resource was
    -- exclusive: the constraint cannot take it back until it ends.
    RAISE EXCEPTION USING ERRCODE = 'RV014', MESSAGE = format(
      'resource %s has reservations in progress that overlap others: its capacity cannot drop to %s until they end',
      to_json(p_id::text), p_capacity);
  END;
  PERFORM rsvp.promote(p_id);
END;
$$;
