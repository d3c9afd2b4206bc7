import { invalidArgument } from "./errors.js";
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

const CURSOR = /^v1\.(\d{1,20})\.(\d{1,19})$/;

/** The opaque cursor handed to clients: resuming from it continues right after the change. */
export function encodeCursor(p: Position): string {
  return Buffer.from(`v1.${p.xid}.${p.seq}`).toString("base64url");
}

// The columns' ranges: xid8 is unsigned 64-bit, seq a signed bigint.
const MAX_XID = 2n ** 64n - 1n;
const MAX_SEQ = 2n ** 63n - 1n;

/** Parses a cursor from {@link encodeCursor}; anything else is INVALID_ARGUMENT. */
export function decodeCursor(cursor: string): Position {
  const m = CURSOR.exec(Buffer.from(cursor, "base64url").toString("latin1"));
  const position = m ? { xid: BigInt(m[1] ?? ""), seq: BigInt(m[2] ?? "") } : undefined;
  if (
    !position ||
    position.xid > MAX_XID ||
    position.seq > MAX_SEQ ||
    encodeCursor(position) !== cursor
  ) {
    throw invalidArgument("cursor is not one this service issued");
  }
  return position;
}
