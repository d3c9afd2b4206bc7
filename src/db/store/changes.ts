import type { Change, ChangeFilter, ChangeOp, Position } from "../../domain/change.js";
import type { Reservation, Status } from "../../domain/reservation.js";
import type { Queryable } from "../engine/db.js";
import { type ReservationRow, reservationColumns, toReservation } from "./reservation-row.js";

/** One page of safe changes after a position. */
export interface ChangePage {
  /** The position has been pruned: history after it is incomplete. */
  readonly gone: boolean;
  /**
   * Every change below this position is in the page or before it: the feed's safe head when
   * the page is not full. It is `(horizon, 0)`: all changes of transactions older than the
   * oldest rsvp writer still in progress.
   */
  readonly horizon: Position;
  /**
   * When committed changes wait behind an rsvp writer still in progress: the time (µs) of the
   * oldest of them. Undefined when nothing waits.
   */
  readonly waitingSince: bigint | undefined;
  readonly changes: Change[];
}

type ChangeRow = ReservationRow & {
  horizon: string;
  gone: boolean;
  pending_us: bigint | number | string | null;
  cxid: string | null;
  cseq: bigint | number | string;
  op: ChangeOp;
  committed_us: bigint | number | string;
  prev_status: Status | null;
  prev_resource_id: string | null;
  prev_start_us: bigint | number | string | null;
  prev_end_us: bigint | number | string | null;
  prev_note: string | null;
  prev_expires_us: bigint | number | string | null;
  prev_updated_us: bigint | number | string | null;
  prev_quantity: number | null;
  prev_checked_in_us: bigint | number | string | null;
};

// What an update changed from (NULL on creates and deletes).
const PREVIOUS_COLUMNS = `(r.change).prev_status, (r.change).prev_resource_id,
  rsvp.to_micros(lower((r.change).prev_timespan)) AS prev_start_us,
  rsvp.to_micros(upper((r.change).prev_timespan)) AS prev_end_us, (r.change).prev_note,
  rsvp.to_micros((r.change).prev_expires_at) AS prev_expires_us,
  rsvp.to_micros((r.change).prev_updated_at) AS prev_updated_us, (r.change).prev_quantity,
  rsvp.to_micros((r.change).prev_checked_in_at) AS prev_checked_in_us`;

/**
 * Reads up to `limit` changes after `after` (and at most `upTo`) that are safe to deliver, in
 * order: an index range scan whose cost follows the changes returned, not the history kept.
 */
export async function readChanges(
  db: Queryable,
  after: Position,
  opts: {
    limit: number;
    upTo?: Position | undefined;
    filter?: ChangeFilter | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<ChangePage> {
  const rows = await db.query<ChangeRow>(
    `SELECT r.horizon::text AS horizon, r.gone, r.pending_us,
            (r.change).xid::text AS cxid, (r.change).seq AS cseq, (r.change).op,
            ${reservationColumns("(r.change)")},
            rsvp.to_micros((r.change).committed_at) AS committed_us, ${PREVIOUS_COLUMNS}
       FROM rsvp.read_changes($1::text::xid8, $2::bigint, $3::integer, $4::text::xid8,
                              $5::bigint, $6::text, $7::text) AS r`,
    [
      after.xid.toString(),
      after.seq.toString(),
      opts.limit,
      opts.upTo?.xid.toString() ?? null,
      opts.upTo?.seq.toString() ?? null,
      opts.filter?.resourceId ?? null,
      opts.filter?.userId ?? null,
    ],
    { signal: opts.signal },
  );
  const first = rows[0];
  if (!first) throw new Error("rsvp.read_changes returned no row");
  return {
    gone: first.gone,
    horizon: { xid: BigInt(first.horizon), seq: 0n },
    waitingSince: first.pending_us === null ? undefined : BigInt(first.pending_us),
    changes: first.cxid === null ? [] : rows.map(toChange),
  };
}

function previousOf(row: ChangeRow, now: Reservation): Reservation | undefined {
  if (row.prev_status === null) return undefined;
  const micros = (v: bigint | number | string | null, fallback: bigint) =>
    v === null ? fallback : BigInt(v);
  return {
    ...now,
    status: row.prev_status,
    resourceId: row.prev_resource_id ?? now.resourceId,
    start: micros(row.prev_start_us, now.start),
    end: micros(row.prev_end_us, now.end),
    note: row.prev_note ?? now.note,
    expiresAt: row.prev_expires_us === null ? undefined : BigInt(row.prev_expires_us),
    updatedAt: micros(row.prev_updated_us, now.updatedAt),
    quantity: row.prev_quantity ?? now.quantity,
    checkedInAt: row.prev_checked_in_us === null ? undefined : BigInt(row.prev_checked_in_us),
  };
}

function toChange(row: ChangeRow): Change {
  const reservation = toReservation(row);
  return {
    position: { xid: BigInt(row.cxid ?? 0), seq: BigInt(row.cseq) },
    op: row.op,
    reservation,
    previous: previousOf(row, reservation),
    committedAt: BigInt(row.committed_us),
  };
}

/**
 * The feed's horizon now, as a position: every change of a transaction that could still
 * commit is after it. A position taken before reading rows, for list-then-watch.
 */
export async function feedHorizon(db: Queryable): Promise<Position> {
  const [row] = await db.query<{ h: string }>("SELECT rsvp.feed_horizon()::text AS h");
  if (!row) throw new Error("rsvp.feed_horizon returned no row");
  return { xid: BigInt(row.h), seq: 0n };
}

/** The rsvp writer holding the feed back, if any: for the stall warning. */
export async function oldestWriter(
  db: Queryable,
): Promise<{ pid: number; since: Date; database: string } | undefined> {
  const [row] = await db.query<{ pid: number; since: Date; datname: string }>(
    `SELECT a.pid, a.xact_start AS since, a.datname
       FROM pg_stat_activity AS a
      WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
        AND a.pid IN (SELECT rsvp.writer_pids())
      ORDER BY a.xact_start
      LIMIT 1`,
  );
  return row ? { pid: row.pid, since: new Date(row.since), database: row.datname } : undefined;
}

/**
 * Deletes up to `batch` of the oldest changes older than `keepSeconds`, in one short
 * transaction; returns how many it removed (call again while it equals `batch`).
 */
export async function pruneChangesBatch(
  db: Queryable,
  keepSeconds: number,
  batch: number,
): Promise<number> {
  const [row] = await db.query<{ removed: bigint | number | string }>(
    "SELECT rsvp.prune_changes(make_interval(secs => $1), $2::integer) AS removed",
    [keepSeconds, batch],
  );
  return Number(row?.removed ?? 0);
}
