-- Calendar revisions, and webhooks fed by the change log.

-- Every reservation counts its changes: revision grows by one with each change of its status,
-- window, note, hold expiry, quantity or resource, so a calendar's SEQUENCE grows with every change however long ago
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
        OR OLD.note IS DISTINCT FROM NEW.note OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
        OR OLD.quantity IS DISTINCT FROM NEW.quantity OR OLD.resource_id IS DISTINCT FROM NEW.resource_id)
  EXECUTE FUNCTION rsvp.bump_revision();

-- An update's change also records what it changed from, so a listener or a webhook receiver
-- can link the old state to the new (a reschedule's old window). Only what an update can
-- change is kept; id, user, creation and group stay as the change row has them.
ALTER TABLE rsvp.reservation_changes
  ADD COLUMN prev_status rsvp.reservation_status,
  ADD COLUMN prev_resource_id varchar(64),
  ADD COLUMN prev_timespan tstzrange,
  ADD COLUMN prev_note text,
  ADD COLUMN prev_expires_at timestamptz,
  ADD COLUMN prev_updated_at timestamptz,
  ADD COLUMN prev_quantity integer;

-- record_change as in 007 (with the quantity), plus the previous state of an update.
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
  IF kind = 'update' THEN
    INSERT INTO rsvp.reservation_changes
           (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at,
            expires_at, group_id, quantity, prev_status, prev_resource_id, prev_timespan,
            prev_note, prev_expires_at, prev_updated_at, prev_quantity)
    VALUES (kind, r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
            r.updated_at, r.expires_at, r.group_id, r.quantity, OLD.status, OLD.resource_id,
            OLD.timespan, OLD.note, OLD.expires_at, OLD.updated_at, OLD.quantity);
  ELSE
    INSERT INTO rsvp.reservation_changes
           (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at,
            expires_at, group_id, quantity)
    VALUES (kind, r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
            r.updated_at, r.expires_at, r.group_id, r.quantity);
  END IF;
  RETURN NULL;
END;
$$;

-- Webhooks: where each one sends, what it filters, and how far it has got. Every change at or
-- before (pos_xid, pos_seq) has been delivered or did not match. One server process at a time
-- delivers a webhook: the one holding its lease (lease_owner until lease_until).
CREATE TABLE rsvp.webhooks (
  id varchar(64) NOT NULL,
  url text NOT NULL,
  -- Filters; NULL = any.
  resource_id varchar(64),
  user_id varchar(64),
  pool varchar(64),
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  disabled boolean NOT NULL DEFAULT false,
  disabled_reason text NOT NULL DEFAULT '',
  last_success_at timestamptz,
  last_error text NOT NULL DEFAULT '',
  pos_xid xid8 NOT NULL,
  pos_seq bigint NOT NULL,
  -- The delivery being retried: failing since, attempts so far. A process that takes the
  -- webhook over tries it at once.
  failing_since timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until timestamptz,
  CONSTRAINT webhooks_pkey PRIMARY KEY (id),
  CONSTRAINT webhooks_id_not_empty CHECK (id <> '')
);
