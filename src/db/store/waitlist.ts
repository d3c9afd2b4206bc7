import { randomUUID } from "node:crypto";
import type { NewReservation, Reservation } from "../../domain/reservation.js";
import type { Queryable } from "../engine/db.js";
import {
  type ReservationRow,
  requestColumns,
  reservationColumns,
  toReservation,
} from "./reservation-row.js";
import { requestHash } from "./reservations.js";

/** The answer to a reserve that may wait. */
export type WaitOutcome =
  /** The window was free: booked as usual. */
  | { readonly kind: "created"; readonly reservation: Reservation }
  /** The window is taken: stored WAITING, promoted when it frees. */
  | { readonly kind: "waiting"; readonly reservation: Reservation }
  /** A retry of an earlier request with the same key: what it made, as it stands now. */
  | { readonly kind: "replayed"; readonly reservation: Reservation }
  /** The key was used before with another body; `reservation` is what it made then. */
  | { readonly kind: "mismatch"; readonly reservation: Reservation }
  /** Breaks a booking rule or quota of its resource. */
  | { readonly kind: "rule"; readonly message: string }
  /** Asks for more units than its resource has. */
  | { readonly kind: "invalid"; readonly message: string };

const SQL = `SELECT f.out_kind, f.out_message, ${reservationColumns("r")}
  FROM rsvp.reserve_or_wait($1::text::jsonb) AS f, LATERAL (SELECT (f.out_row).*) AS r`;

/**
 * Reserves a window, or when it is taken (a clash, a counted resource full) stores the
 * reservation WAITING, in one transaction under the resource's lock. Rare enough to have its
 * own statement rather than a place in the reserve batches. A hold's seconds start at promotion.
 */
export async function reserveOrWait(
  db: Queryable,
  r: NewReservation,
  signal?: AbortSignal,
): Promise<WaitOutcome> {
  const payload = {
    id: randomUUID(),
    resource_id: r.resourceId,
    ...requestColumns(r),
    request_id: r.requestId ?? null,
    request_hash: r.requestId === undefined ? null : requestHash(r, true),
  };
  const [row] = await db.query<
    ReservationRow & { out_kind: WaitOutcome["kind"]; out_message: string | null }
  >(SQL, [JSON.stringify(payload)], { signal });
  if (!row) throw new Error("reserve_or_wait returned no outcome");
  if (row.out_kind === "rule" || row.out_kind === "invalid") {
    return { kind: row.out_kind, message: row.out_message ?? "" };
  }
  return { kind: row.out_kind, reservation: toReservation(row) };
}
