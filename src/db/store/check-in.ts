import type { Micros, Reservation } from "../../domain/reservation.js";
import type { Queryable } from "../engine/db.js";
import { type ReservationRow, reservationColumns, toReservation } from "./reservation-row.js";

/**
 * The answer to a check-in: "checked_in" (now or earlier: the reservation), "not_live"
 * (cancelled, waiting, blocked, an expired hold, or a no-show already due, released now),
 * "early" (`at`: when check-in opens) or "late" (`at`: its end).
 */
export interface CheckInOutcome {
  readonly kind: "checked_in" | "not_live" | "early" | "late";
  readonly reservation: Reservation;
  readonly at?: Micros | undefined;
}

const SQL = `SELECT f.out_kind, rsvp.to_micros(f.out_at) AS at_us, ${reservationColumns("r")}
  FROM rsvp.check_in($1::uuid) AS f, LATERAL (SELECT (f.out_row).*) AS r`;

/** Checks a reservation in, once, under its resource's lock; undefined if it does not exist. */
export async function checkIn(db: Queryable, id: string): Promise<CheckInOutcome | undefined> {
  const [row] = await db.query<
    ReservationRow & {
      out_kind: CheckInOutcome["kind"];
      at_us: bigint | number | string | null;
    }
  >(SQL, [id]);
  if (!row) return undefined;
  return {
    kind: row.out_kind,
    reservation: toReservation(row),
    at: row.at_us === null ? undefined : BigInt(row.at_us),
  };
}
