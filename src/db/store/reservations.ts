import { createHash, randomUUID } from "node:crypto";
import type { NewReservation, Reservation, TimeWindow } from "../../domain/reservation.js";
import { microsToIso } from "../../domain/time.js";
import type { Queryable } from "../engine/db.js";
import { groupRequestHash } from "./groups.js";
import {
  type ReservationRow,
  requestColumns,
  reservationColumns,
  toReservation,
} from "./reservation-row.js";

/** The answer to one reserve request. */
export type ReserveOutcome =
  /** Stored now. */
  | { readonly kind: "created"; readonly reservation: Reservation }
  /** A retry of an earlier request with the same key: the reservation it made. */
  | { readonly kind: "replayed"; readonly reservation: Reservation }
  /** Does not fit: `reservation` is a live one in the way, `free` the units left at the tightest instant. */
  | { readonly kind: "conflict"; readonly reservation: Reservation; readonly free: number }
  /** The key was used before with another body; `reservation` is what it made then. */
  | { readonly kind: "mismatch"; readonly reservation: Reservation }
  /** Breaks a booking rule or quota of its resource; `message` names it. */
  | { readonly kind: "rule"; readonly message: string }
  /** Asks for more units than its resource has; `message` says so. */
  | { readonly kind: "invalid"; readonly message: string }
  /**
   * A pool request that no member had room for: `reservation` is one in the way at the first
   * member where the user is not at quota (if one occupies the tightest instant), `free` the
   * units left there.
   */
  | { readonly kind: "full"; readonly reservation: Reservation | undefined; readonly free: number }
  /** A pool request whose pool has no resources. */
  | { readonly kind: "empty" };

/** A reserve request: of its resource, or (with `pool`, `resourceId` "") of any one of a pool. */
export type ReserveRequest = NewReservation & { readonly pool?: string | undefined };

const RESERVE_SQL = `SELECT f.out_request, f.out_kind, f.out_message, f.out_free, ${reservationColumns("r")}
  FROM rsvp.reserve($1::text::jsonb) AS f, LATERAL (SELECT (f.out_row).*) AS r`;

/**
 * What makes two requests with one idempotency key "the same request"; a reserve that may
 * wait is another request than one that may not.
 */
export function requestHash(r: ReserveRequest, wait = false): string {
  if (r.pool !== undefined) {
    const { requestId: _key, ...item } = r;
    return groupRequestHash([item], false);
  }
  const body = [
    r.userId,
    r.resourceId,
    r.status,
    r.start,
    r.end,
    r.note,
    r.expiresAt,
    r.holdSeconds,
    r.quantity ?? 1,
    ...(wait ? ["wait"] : []),
  ];
  return createHash("sha256")
    .update(JSON.stringify(body, (_, v) => (typeof v === "bigint" ? v.toString() : v)))
    .digest("base64url");
}

/**
 * Reserves several windows in one statement (one transaction, one round trip). Each request
 * gets its own exact outcome, in input order; earlier requests win clashes within the batch
 * (pool requests are served first, then the others). Requests in one batch must not share an
 * idempotency key. `signal` cancels the statement.
 */
export async function reserveMany(
  db: Queryable,
  requests: readonly ReserveRequest[],
  signal?: AbortSignal,
): Promise<ReserveOutcome[]> {
  const ids = requests.map(() => randomUUID());
  const payload = requests.map((r, i) => ({
    id: ids[i],
    ...(r.pool === undefined ? { resource_id: r.resourceId } : { resource_id: null, pool: r.pool }),
    ...requestColumns(r),
    request_id: r.requestId ?? null,
    request_hash: r.requestId === undefined ? null : requestHash(r),
  }));
  const rows = await db.query<
    ReservationRow & {
      out_request: string;
      out_kind: Exclude<ReserveOutcome["kind"], "full">;
      out_message: string | null;
      out_free: number | null;
    }
  >(RESERVE_SQL, [JSON.stringify(payload)], { signal });
  const byRequest = new Map(rows.map((row) => [row.out_request, row]));
  return ids.map((id, i) => {
    const row = byRequest.get(id);
    // rsvp.reserve holds the resource lock while it looks, so every request has an answer.
    if (!row) throw new Error(`reserve returned no outcome for request ${id}`);
    if (row.out_kind === "rule" || row.out_kind === "invalid") {
      return { kind: row.out_kind, message: row.out_message ?? "" };
    }
    if (row.out_kind === "empty") return { kind: "empty" };
    if (row.out_kind === "conflict" && requests[i]?.pool !== undefined) {
      const reservation = row.id === null ? undefined : toReservation(row);
      return { kind: "full", reservation, free: row.out_free ?? 0 };
    }
    if (row.out_kind === "conflict") {
      return { kind: "conflict", reservation: toReservation(row), free: row.out_free ?? 0 };
    }
    return { kind: row.out_kind, reservation: toReservation(row) };
  });
}

async function one(db: Queryable, sql: string, params: unknown[], signal?: AbortSignal) {
  const [row] = await db.query<ReservationRow>(sql, params, { signal });
  return row ? toReservation(row) : undefined;
}

const CONFIRM_SQL = `SELECT ${reservationColumns("r")} FROM rsvp.confirm($1::uuid) AS r`;
const CANCEL_SQL = `SELECT ${reservationColumns("r")} FROM rsvp.cancel($1::uuid, $2::text) AS r`;
const GET_SQL = `SELECT ${reservationColumns("r")} FROM rsvp.reservations AS r WHERE r.id = $1::uuid`;
const UPDATE_SQL = `SELECT f.out_kind, f.out_message, f.out_free, ${reservationColumns("r")}
  FROM rsvp.update($1::uuid, $2::text, $3::timestamptz, $4::timestamptz, $5::integer) AS f,
       LATERAL (SELECT (f.out_row).*) AS r`;

/** Confirms a pending reservation; returns the row as it stands afterwards, if it exists. */
export const confirm = (db: Queryable, id: string) => one(db, CONFIRM_SQL, [id]);

/**
 * Cancels a reservation with a reason ("" = none), freeing its window for whoever waits for
 * it in the same transaction; returns the row as it stands afterwards.
 */
export const cancel = (db: Queryable, id: string, reason = "") => one(db, CANCEL_SQL, [id, reason]);

const CANCEL_FOLLOWING_SQL = `SELECT ${reservationColumns("r")}
  FROM rsvp.cancel_following($1::uuid, $2::text, $3::text) AS r`;

/**
 * Cancels a reservation and every live one of its group that starts at or after it, in one
 * transaction; `onlyOf` keeps the others to that owner's. Returns the reservation itself.
 */
export const cancelFollowing = (
  db: Queryable,
  id: string,
  onlyOf: string | undefined,
  reason = "",
) => one(db, CANCEL_FOLLOWING_SQL, [id, onlyOf ?? null, reason]);

/** Reads one reservation; `signal` cancels the read. */
export const get = (db: Queryable, id: string, signal?: AbortSignal) =>
  one(db, GET_SQL, [id], signal);

/**
 * The answer to an update: the row afterwards, or for a conflict the row in the way (and the
 * units `free` at the tightest instant); for a broken booking rule or quota, or a quantity
 * above the capacity ("invalid"), the row unchanged and `message` saying why; a waiting
 * reservation ("waiting") keeps its window and units.
 */
export interface UpdateOutcome {
  readonly kind:
    | "updated"
    | "unchanged"
    | "cancelled"
    | "waiting"
    | "conflict"
    | "rule"
    | "invalid";
  readonly reservation: Reservation;
  readonly message?: string | undefined;
  readonly free?: number | undefined;
}

/**
 * Changes a live reservation's note, window and/or quantity atomically; undefined if it does
 * not exist.
 */
export async function update(
  db: Queryable,
  id: string,
  change: {
    note?: string | undefined;
    window?: TimeWindow | undefined;
    quantity?: number | undefined;
  },
): Promise<UpdateOutcome | undefined> {
  const [row] = await db.query<
    ReservationRow & {
      out_kind: UpdateOutcome["kind"];
      out_message: string | null;
      out_free: number | null;
    }
  >(UPDATE_SQL, [
    id,
    change.note ?? null,
    change.window ? microsToIso(change.window.start) : null,
    change.window ? microsToIso(change.window.end) : null,
    change.quantity ?? null,
  ]);
  if (!row) return undefined;
  const message = row.out_message ?? undefined;
  const free = row.out_free ?? undefined;
  return { kind: row.out_kind, reservation: toReservation(row), message, free };
}
