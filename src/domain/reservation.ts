/** Microseconds since the Unix epoch. Postgres stores timestamps at this precision; Date cannot. */
export type Micros = bigint;

/**
 * The statuses a stored reservation can have. `cancelled` rows are kept but free their window;
 * `waiting` ones occupy nothing until a window frees for them.
 */
export const STATUSES = ["pending", "confirmed", "blocked", "cancelled", "waiting"] as const;
export type Status = (typeof STATUSES)[number];

/** Statuses a new reservation may be created with (a wait asks for one of them too). */
export type InitialStatus = Exclude<Status, "cancelled" | "waiting">;

/** A half-open window `[start, end)`. */
export interface TimeWindow {
  readonly start: Micros;
  readonly end: Micros;
}

/** A stored reservation. */
export interface Reservation extends TimeWindow {
  readonly id: string;
  readonly userId: string;
  readonly status: Status;
  readonly resourceId: string;
  readonly note: string;
  /** A pending hold is released when this passes without a confirm. */
  readonly expiresAt: Micros | undefined;
  readonly createdAt: Micros;
  readonly updatedAt: Micros;
  /** Shared by the reservations made together (a group or a series). */
  readonly groupId?: string | undefined;
  /** Units of its resource it takes, at least 1 (a blocked one: the whole capacity). */
  readonly quantity: number;
  /** When its owner checked in; undefined until then. */
  readonly checkedInAt?: Micros | undefined;
  /** Why it was cancelled ("" when it is not, or no reason was given). */
  readonly cancelReason?: string | undefined;
}

/** A validated request to reserve a window. */
export interface NewReservation extends TimeWindow {
  readonly userId: string;
  readonly resourceId: string;
  readonly status: InitialStatus;
  readonly note: string;
  /** A hold: an absolute expiry, or seconds from the database's now. */
  readonly expiresAt?: Micros | undefined;
  readonly holdSeconds?: number | undefined;
  /** Idempotency key, scoped to the user. */
  readonly requestId?: string | undefined;
  /** Units of a counted resource to take; undefined = 1. */
  readonly quantity?: number | undefined;
}

/** Validated `query` filters; every one optional. */
export interface ReservationFilter {
  readonly resourceId?: string | undefined;
  readonly userId?: string | undefined;
  /** Only the reservations made together under this group id. */
  readonly groupId?: string | undefined;
  /** Undefined means every status but cancelled and waiting. */
  readonly status?: Status | undefined;
  /** Reservations overlapping `[start, end)`; an undefined bound is unbounded. */
  readonly start?: Micros | undefined;
  readonly end?: Micros | undefined;
  readonly desc: boolean;
}

/** True when two half-open windows share at least one instant. */
export function overlaps(a: TimeWindow, b: TimeWindow): boolean {
  return a.start < b.end && b.start < a.end;
}
