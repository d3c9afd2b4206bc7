import type { Change, ChangeFilter, ChangeOp, Position } from "../domain/change.js";
import type { Queryable } from "./db.js";
import { type ReservationRow, reservationColumns, toReservation } from "./reservation-row.js";

/** One page of safe changes after a position. */
export interface ChangePage {
  /** The position has been pruned: history after it is incomplete. */
  readonly gone: boolean;
  /** Committed changes exist that are not yet safe to deliver (an older transaction is open). */
  readonly pending: boolean;
  readonly changes: Change[];
}

type ChangeRow = ReservationRow & {
  gone: boolean;
  pending: boolean;
  cxid: string | null;
  cseq: bigint | number | string;
  op: ChangeOp;
  committed_us: bigint | number | string;
};

/**
 * Reads up to `limit` changes after `after` (and at most `upTo`) that are safe to deliver, in
 * order, with the horizon check and the "more are coming" flag in the same snapshot.
 */
export async function readChanges(
  db: Queryable,
  after: Position,
  opts: { limit: number; upTo?: Position | undefined; filter?: ChangeFilter | undefined },
): Promise<ChangePage> {
  const params: unknown[] = [after.xid.toString(), after.seq.toString(), opts.limit];
  const where = ["(c.xid, c.seq) > ($1::xid8, $2::bigint)", "c.xid < s.xmin"];
  if (opts.upTo) {
    params.push(opts.upTo.xid.toString(), opts.upTo.seq.toString());
    where.push(`(c.xid, c.seq) <= ($${params.length - 1}::xid8, $${params.length}::bigint)`);
  }
  if (opts.filter?.resourceId !== undefined) {
    params.push(opts.filter.resourceId);
    where.push(`c.resource_id = $${params.length}`);
  }
  if (opts.filter?.userId !== undefined) {
    params.push(opts.filter.userId);
    where.push(`c.user_id = $${params.length}`);
  }
  const rows = await db.query<ChangeRow>(
    `WITH s AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
     SELECT (h.xid, h.seq) > ($1::xid8, $2::bigint) AS gone,
            EXISTS (SELECT 1 FROM rsvp.reservation_changes AS p, s WHERE p.xid >= s.xmin) AS pending,
            page.*
       FROM rsvp.change_horizon AS h
       LEFT JOIN LATERAL (
         SELECT c.xid::text AS cxid, c.seq AS cseq, c.op, ${reservationColumns("c")},
                rsvp.to_micros(c.committed_at) AS committed_us
           FROM rsvp.reservation_changes AS c, s
          WHERE ${where.join(" AND ")}
          ORDER BY c.xid, c.seq
          LIMIT $3
       ) AS page ON true`,
    params,
  );
  const first = rows[0];
  if (!first) throw new Error("change_horizon has no row");
  const changes = first.cxid === null ? [] : rows.map(toChange);
  return { gone: first.gone, pending: first.pending, changes };
}

function toChange(row: ChangeRow): Change {
  return {
    position: { xid: BigInt(row.cxid ?? 0), seq: BigInt(row.cseq) },
    op: row.op,
    reservation: toReservation(row),
    committedAt: BigInt(row.committed_us),
  };
}

/** The newest position safe to deliver (or the horizon when the log is empty): "now". */
export async function safeHead(db: Queryable): Promise<Position> {
  const [row] = await db.query<{ xid: string; seq: bigint | number | string }>(
    `SELECT xid::text AS xid, seq FROM (
       (SELECT c.xid, c.seq FROM rsvp.reservation_changes AS c
         WHERE c.xid < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY c.xid DESC, c.seq DESC LIMIT 1)
       UNION ALL
       SELECT h.xid, h.seq FROM rsvp.change_horizon AS h
     ) AS candidates ORDER BY xid DESC, seq DESC LIMIT 1`,
  );
  if (!row) throw new Error("change_horizon has no row");
  return { xid: BigInt(row.xid), seq: BigInt(row.seq) };
}

/** Deletes changes older than `keepSeconds`; returns how many it removed. */
export async function pruneChanges(db: Queryable, keepSeconds: number): Promise<number> {
  const [row] = await db.query<{ removed: bigint | number | string }>(
    "SELECT rsvp.prune_changes(make_interval(secs => $1)) AS removed",
    [keepSeconds],
  );
  return Number(row?.removed ?? 0);
}
