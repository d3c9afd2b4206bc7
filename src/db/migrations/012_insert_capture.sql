-- The change log takes a statement's inserts in one INSERT ... SELECT from the statement's
-- transition table, so a reserve batch of 64 rows costs one trigger call and one executor run
-- instead of 64 plpgsql calls. The rows are read in the order the statement inserted them, so
-- their seq follows that order as the row trigger's did.
--
-- Updates and deletes stay per row: the promotion trigger is an AFTER ROW trigger, and the
-- statement-level triggers of the UPDATE that frees a window would fire after the promotions it
-- makes, logging them before the free.
CREATE FUNCTION rsvp.record_inserts() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rsvp.reservation_changes
         (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at,
          expires_at, group_id, quantity, checked_in_at, cancel_reason)
  SELECT 'create', r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
         r.updated_at, r.expires_at, r.group_id, r.quantity, r.checked_in_at, r.cancel_reason
    FROM inserted AS r;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION rsvp.record_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  kind rsvp.reservation_update_type;
  r rsvp.reservations;
BEGIN
  IF TG_OP = 'DELETE' THEN
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

DROP TRIGGER reservations_record_change ON rsvp.reservations;
CREATE TRIGGER reservations_record_change AFTER UPDATE OR DELETE ON rsvp.reservations
  FOR EACH ROW EXECUTE FUNCTION rsvp.record_change();
CREATE TRIGGER reservations_record_inserts AFTER INSERT ON rsvp.reservations
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION rsvp.record_inserts();
