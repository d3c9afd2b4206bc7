import type { NewReservation, Reservation, Status } from "../../domain/reservation.js";
import { microsToIso } from "../../domain/time.js";

/** The select list that every reservation read uses, for a table or composite aliased `t`. */
export function reservationColumns(t: string): string {
  return [
    `${t}.id`,
    `${t}.user_id`,
    `${t}.status`,
    `${t}.resource_id`,
    `rsvp.to_micros(lower(${t}.timespan)) AS start_us`,
    `rsvp.to_micros(upper(${t}.timespan)) AS end_us`,
    `${t}.note`,
    `rsvp.to_micros(${t}.expires_at) AS expires_us`,
    `rsvp.to_micros(${t}.created_at) AS created_us`,
    `rsvp.to_micros(${t}.updated_at) AS updated_us`,
    `${t}.group_id`,
    `${t}.quantity`,
    `rsvp.to_micros(${t}.checked_in_at) AS checked_in_us`,
    `${t}.cancel_reason`,
  ].join(", ");
}

/** A row selected with {@link reservationColumns}. */
export interface ReservationRow {
  [column: string]: unknown;
  id: string;
  user_id: string;
  status: Status;
  resource_id: string;
  start_us: bigint | number | string;
  end_us: bigint | number | string;
  note: string;
  expires_us: bigint | number | string | null;
  created_us: bigint | number | string;
  updated_us: bigint | number | string;
  group_id: string | null;
  quantity: number;
  checked_in_us: bigint | number | string | null;
  cancel_reason: string;
}

/** The one row-to-domain mapper for reservations (drivers differ in how they return int8). */
export function toReservation(row: ReservationRow): Reservation {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    resourceId: row.resource_id,
    start: BigInt(row.start_us),
    end: BigInt(row.end_us),
    note: row.note,
    expiresAt: row.expires_us === null ? undefined : BigInt(row.expires_us),
    createdAt: BigInt(row.created_us),
    updatedAt: BigInt(row.updated_us),
    groupId: row.group_id ?? undefined,
    quantity: row.quantity,
    checkedInAt: row.checked_in_us === null ? undefined : BigInt(row.checked_in_us),
    cancelReason: row.cancel_reason,
  };
}

/**
 * The columns every write request sends as JSON (rsvp.reserve, rsvp.reserve_group): who, with
 * what status, which window and note, and a hold's expiry.
 */
export function requestColumns(r: Omit<NewReservation, "resourceId" | "requestId">) {
  return {
    user_id: r.userId,
    status: r.status,
    start_at: microsToIso(r.start),
    end_at: microsToIso(r.end),
    note: r.note,
    expires_at: r.expiresAt === undefined ? null : microsToIso(r.expiresAt),
    hold_seconds: r.holdSeconds ?? null,
    quantity: r.quantity ?? 1,
  };
}
