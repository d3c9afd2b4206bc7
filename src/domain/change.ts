import type { Micros, Reservation } from "./reservation.js";

/** A place in the change log. Changes are totally ordered by (xid, seq). */
export interface Position {
  readonly xid: bigint;
  readonly seq: bigint;
}

export type ChangeOp = "create" | "update" | "delete";

/** One committed change to a reservation, with the reservation as it stood after it. */
export interface Change {
  readonly position: Position;
  readonly op: ChangeOp;
  readonly reservation: Reservation;
  /** On an update: the reservation as it stood just before it. */
  readonly previous?: Reservation | undefined;
  readonly committedAt: Micros;
}

/** Optional filters of a change stream. */
export interface ChangeFilter {
  readonly resourceId?: string | undefined;
  readonly userId?: string | undefined;
}

/** Orders positions like a comparator: negative, zero or positive. */
export function comparePositions(a: Position, b: Position): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

/** True when a change passes the filter. */
export function matchesFilter(change: Change, filter: ChangeFilter): boolean {
  const r = change.reservation;
  return (
    (filter.resourceId === undefined || r.resourceId === filter.resourceId) &&
    (filter.userId === undefined || r.userId === filter.userId)
  );
}
