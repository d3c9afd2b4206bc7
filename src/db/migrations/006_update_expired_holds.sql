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
