-- The change feed's horizon counts only rsvp's own writers.
--
-- Before: a reader delivered changes with xid < pg_snapshot_xmin(pg_current_snapshot()), and
-- that horizon counts every writing transaction of the whole cluster, so any long transaction
-- anywhere (another database, a migration, rsvp's own pruning) stalled every listener.
--
-- Now a writer of rsvp.reservations is recognised by the locks it must take before its
-- transaction gets an id for that write: a relation lock stronger than ACCESS SHARE on
-- rsvp.reservations (any INSERT, UPDATE, DELETE or SELECT … FOR UPDATE of it holds one from the
-- statement's start to the end of the transaction), or one of rsvp's per-resource advisory
-- locks (class 7397), which every rsvp writer function takes first. The horizon is the oldest
-- transaction id still in progress that belongs to such a writer, else the snapshot's xmax.
--
-- Why nothing is lost: the horizon is computed from a snapshot S taken first, then pg_locks is
-- read, then the page is read in a later statement with a newer snapshot. A writer T with
-- xid < horizon was either finished before S, or in progress at S: if it still held its locks
-- when pg_locks was read it would have lowered the horizon below its xid, so it finished
-- before the page's snapshot and its changes are in it. A writer whose xid came after S has
-- xid >= xmax(S) >= horizon. A transaction that wrote another table first (and got its id
-- then) and only later writes rsvp.reservations without an rsvp function is not covered: rsvp
-- never does that, and direct SQL against the table should run in its own transaction.
-- The backends of this database that are (or are about to be) rsvp writers.
CREATE FUNCTION rsvp.writer_pids() RETURNS SETOF integer
  LANGUAGE sql VOLATILE AS $$
  SELECT w.pid FROM pg_locks AS w
   WHERE w.pid IS NOT NULL
     AND w.database = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database())
     AND ((w.locktype = 'relation' AND w.relation = 'rsvp.reservations'::regclass
           AND w.mode <> 'AccessShareLock')
       OR (w.locktype = 'advisory' AND w.classid = 7397 AND w.objsubid = 2))
$$;

CREATE FUNCTION rsvp.feed_horizon() RETURNS xid8
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  snap pg_snapshot := pg_current_snapshot();
  oldest xid8;
BEGIN
  IF pg_snapshot_xmin(snap) = pg_snapshot_xmax(snap) THEN
    RETURN pg_snapshot_xmax(snap); -- nothing in progress anywhere: the common, cheap case
  END IF;
  -- pg_locks names a transaction by its 32-bit xid; the snapshot lists full 64-bit ones.
  SELECT min(x) INTO oldest
    FROM pg_snapshot_xip(snap) AS x
   WHERE (x::text::numeric % 4294967296)::bigint IN (
     SELECT t.transactionid::text::bigint
       FROM pg_locks AS t
      WHERE t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
        AND t.pid IN (SELECT rsvp.writer_pids()));
  RETURN coalesce(oldest, pg_snapshot_xmax(snap));
END;
$$;

-- One page of the feed after (p_xid, p_seq), up to the horizon: an index range scan of the
-- primary key, whatever the size of the history. Two statements, so the page's snapshot is
-- newer than the lock read (see above). `pending` says committed changes wait behind a writer;
-- `pending_us` is the oldest waiting change's time, so the lag metric keeps rising meanwhile.
CREATE FUNCTION rsvp.read_changes(p_xid xid8, p_seq bigint, p_limit integer,
                                  p_up_xid xid8, p_up_seq bigint,
                                  p_resource_id text, p_user_id text)
  RETURNS TABLE (horizon xid8, gone boolean, pending_us bigint, change rsvp.reservation_changes)
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  h xid8 := rsvp.feed_horizon();
  is_gone boolean;
  waiting bigint;
BEGIN
  SELECT (c.xid, c.seq) > (p_xid, p_seq) INTO is_gone FROM rsvp.change_horizon AS c;
  SELECT rsvp.to_micros(p.committed_at) INTO waiting
    FROM rsvp.reservation_changes AS p
   WHERE p.xid >= h
   ORDER BY p.xid, p.seq
   LIMIT 1;
  RETURN QUERY
    SELECT h, is_gone, waiting, page.c
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT c FROM rsvp.reservation_changes AS c
         WHERE (c.xid, c.seq) > (p_xid, p_seq)
           AND c.xid < h
           AND (p_up_xid IS NULL OR (c.xid, c.seq) <= (p_up_xid, p_up_seq))
           AND (p_resource_id IS NULL OR c.resource_id = p_resource_id)
           AND (p_user_id IS NULL OR c.user_id = p_user_id)
         ORDER BY c.xid, c.seq
         LIMIT p_limit
      ) AS page ON true;
END;
$$;

-- Pruning in short batches: each call removes at most p_batch of the oldest changes older than
-- p_keep (and below the horizon), moves the pruned horizon with them, and commits, so no long
-- transaction ever holds anything. A separate lock class (7398) keeps the pruner out of the
-- writer test above. Returns how many rows it removed; the caller loops while it is p_batch.
DROP FUNCTION rsvp.prune_changes(interval);
CREATE FUNCTION rsvp.prune_changes(p_keep interval, p_batch integer) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  h xid8;
  cut record;
  removed bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7398, 1) THEN
    RETURN 0;
  END IF;
  h := rsvp.feed_horizon();
  SELECT c.xid, c.seq INTO cut FROM (
    SELECT c.xid, c.seq, c.committed_at FROM rsvp.reservation_changes AS c
     WHERE c.xid < h
     ORDER BY c.xid, c.seq
     LIMIT p_batch) AS c
   WHERE c.committed_at < now() - p_keep
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

-- This database's identity, made once: a cursor names the database it was issued by, so one
-- from another database (or a restore of another) is refused rather than trusted.
INSERT INTO rsvp.settings (name, value) VALUES ('database_id', gen_random_uuid()::text);
