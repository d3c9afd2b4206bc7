-- The change log behind `listen`: the trigger writes each change in the same transaction as
-- the change itself, with the writing transaction's id (xid8). A reader delivers changes in
-- (xid, seq) order and only those whose transaction is older than every transaction still in
-- progress (xid < pg_snapshot_xmin(pg_current_snapshot())): that prefix can no longer grow in
-- the middle, so a reader that remembers its position never skips a change that commits late.
CREATE TABLE rsvp.reservation_changes (
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq bigint GENERATED ALWAYS AS IDENTITY,
  op rsvp.reservation_update_type NOT NULL,
  -- The reservation as it stood after the change (before it, for a hard DELETE).
  id uuid NOT NULL,
  user_id varchar(64) NOT NULL,
  status rsvp.reservation_status NOT NULL,
  resource_id varchar(64) NOT NULL,
  timespan tstzrange NOT NULL,
  note text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT reservation_changes_pkey PRIMARY KEY (xid, seq)
);
CREATE INDEX reservation_changes_committed_at_idx ON rsvp.reservation_changes (committed_at);

-- Everything at or before this position has been pruned: a cursor older than it is gone.
CREATE TABLE rsvp.change_horizon (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  xid xid8 NOT NULL,
  seq bigint NOT NULL
);
INSERT INTO rsvp.change_horizon (xid, seq) VALUES ('0', 0);

CREATE FUNCTION rsvp.record_change() RETURNS trigger
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
        OR NEW.note IS DISTINCT FROM OLD.note THEN
    kind := 'update';
    r := NEW;
  ELSE
    RETURN NULL;
  END IF;
  INSERT INTO rsvp.reservation_changes
         (op, id, user_id, status, resource_id, timespan, note, created_at, updated_at)
  VALUES (kind, r.id, r.user_id, r.status, r.resource_id, r.timespan, r.note, r.created_at,
          r.updated_at);
  RETURN NULL;
END;
$$;

CREATE TRIGGER reservations_record_change
  AFTER INSERT OR UPDATE OR DELETE ON rsvp.reservations
  FOR EACH ROW EXECUTE FUNCTION rsvp.record_change();

-- One wake-up per statement, not per row: identical notifications of one transaction collapse
-- into one anyway, and notifying transactions serialise at commit.
CREATE FUNCTION rsvp.notify_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('rsvp_changes', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER reservations_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON rsvp.reservations
  FOR EACH STATEMENT EXECUTE FUNCTION rsvp.notify_change();

-- Drops changes committed longer ago than p_keep, always a prefix in (xid, seq) order, and
-- moves the horizon with them. One pruner at a time across all server processes.
CREATE FUNCTION rsvp.prune_changes(p_keep interval) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  cut record;
  removed bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7397, 1) THEN
    RETURN 0;
  END IF;
  SELECT c.xid, c.seq INTO cut FROM rsvp.reservation_changes AS c
   WHERE c.committed_at < now() - p_keep
     AND c.xid < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY c.xid DESC, c.seq DESC
   LIMIT 1;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  DELETE FROM rsvp.reservation_changes AS c WHERE (c.xid, c.seq) <= (cut.xid, cut.seq);
  GET DIAGNOSTICS removed = ROW_COUNT;
  UPDATE rsvp.change_horizon SET xid = cut.xid, seq = cut.seq;
  RETURN removed;
END;
$$;
