-- Calendar revisions, and webhooks fed by the change log.

-- Every reservation counts its changes: revision grows by one with each change of its status,
-- window, note or resource, so a calendar's SEQUENCE grows with every change however long ago
-- the change log was pruned.
ALTER TABLE rsvp.reservations ADD COLUMN revision integer NOT NULL DEFAULT 0;

CREATE FUNCTION rsvp.bump_revision() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  NEW.revision := OLD.revision + 1;
  RETURN NEW;
END;
$$;

CREATE TRIGGER reservations_bump_revision
  BEFORE UPDATE ON rsvp.reservations
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.timespan IS DISTINCT FROM NEW.timespan
        OR OLD.note IS DISTINCT FROM NEW.note OR OLD.resource_id IS DISTINCT FROM NEW.resource_id)
  EXECUTE FUNCTION rsvp.bump_revision();
