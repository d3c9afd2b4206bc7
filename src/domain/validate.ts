import { invalidArgument, quote } from "./errors.js";
import type { InitialStatus, Micros, NewReservation, Status } from "./reservation.js";
import { MAX_MICROS, MIN_MICROS } from "./time.js";

/** Longest user or resource id, in characters (the columns are varchar(64)). */
export const MAX_ID_LENGTH = 64;
/** Longest note, in characters. */
export const MAX_NOTE_LENGTH = 4096;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Control characters (C0, DEL, C1): NUL cannot be stored in Postgres text at all, the rest are
// never intended. Bidi controls (U+202E and the like) make an id display as another one.
const CONTROL = /[\p{Cc}\p{Bidi_Control}]/u;

const DAY_MICROS = 86_400_000_000n;
/** Longest duration of the catalog (buffers, booking rules) and of `available`: 10 years. */
export const MAX_DURATION_MICROS = 3653n * DAY_MICROS;
/** Longest hold: a year (366 days, so that a leap year's fits). */
export const MAX_HOLD_MICROS = 366n * DAY_MICROS;

/** A reservation (or group) id: a uuid, returned in lowercase canonical form. */
export function parseId(id: string, field = "id"): string {
  if (id === "") throw invalidArgument(`${field} is required`);
  if (!UUID.test(id)) throw invalidArgument(`${field} ${quote(id)} is not a uuid`);
  return id.toLowerCase();
}

/** A user or resource id: 1–64 characters, no control or bidi-control characters. */
export function parseName(field: string, value: string): string {
  if (value === "") throw invalidArgument(`${field} is required`);
  if ([...value].length > MAX_ID_LENGTH) {
    throw invalidArgument(`${field} is longer than ${MAX_ID_LENGTH} characters`);
  }
  if (CONTROL.test(value)) {
    throw invalidArgument(`${field} contains control or bidi-control characters`);
  }
  return value;
}

/** An optional filter id: empty means "no filter". */
export function parseOptionalName(field: string, value: string): string | undefined {
  return value === "" ? undefined : parseName(field, value);
}

/** A note: up to 4096 characters; newlines and tabs are fine, NUL is not. */
export function parseNote(note: string): string {
  if ([...note].length > MAX_NOTE_LENGTH) {
    throw invalidArgument(`note is longer than ${MAX_NOTE_LENGTH} characters`);
  }
  if (note.includes("\u0000")) throw invalidArgument("note contains a NUL character");
  return note;
}

/** Longest cancel reason, in characters (code points). */
export const MAX_CANCEL_REASON_LENGTH = 500;

/** Why a reservation is cancelled: up to 500 characters, no NUL; "" = none given. */
export function parseCancelReason(reason: string): string {
  if ([...reason].length > MAX_CANCEL_REASON_LENGTH) {
    throw invalidArgument(`reason is longer than ${MAX_CANCEL_REASON_LENGTH} characters`);
  }
  if (reason.includes("\u0000")) throw invalidArgument("reason contains a NUL character");
  return reason;
}

/** A timestamp inside the range protobuf and Postgres both represent. */
export function parseTime(field: string, us: Micros | undefined): Micros {
  if (us === undefined) throw invalidArgument(`${field} is required`);
  if (us < MIN_MICROS || us >= MAX_MICROS) {
    throw invalidArgument(`${field} is outside 0001-01-01 .. 9999-12-31`);
  }
  return us;
}

/** An optional bound: unset stays unset, a set one must be representable. */
export function parseOptionalTime(field: string, us: Micros | undefined): Micros | undefined {
  return us === undefined ? undefined : parseTime(field, us);
}

/** A duration of the catalog or of `available`: at most 10 years (MAX_DURATION_MICROS). */
export function parseDuration(field: string, us: Micros): Micros {
  if (us > MAX_DURATION_MICROS) throw invalidArgument(`${field} must be at most 10 years`);
  return us;
}

/** An optional duration: unset stays unset (no limit), a set one at most 10 years. */
export function parseOptionalDuration(field: string, us: Micros | undefined): Micros | undefined {
  return us === undefined ? undefined : parseDuration(field, us);
}

/** Statuses a reservation may be created with; unknown (undefined) becomes pending. */
export function parseInitialStatus(status: Status | undefined): InitialStatus {
  if (status === undefined) return "pending";
  if (status === "cancelled") {
    throw invalidArgument("a reservation cannot be created cancelled");
  }
  if (status === "waiting") {
    throw invalidArgument(
      "a reservation cannot be created waiting: set wait, with the status it should get",
    );
  }
  return status;
}

/** A window `[start, end)` with both ends set and start < end. */
export function parseWindow(start: Micros | undefined, end: Micros | undefined) {
  const s = parseTime("start", start);
  const e = parseTime("end", end);
  if (s >= e) throw invalidArgument("start must be before end");
  return { start: s, end: e };
}

/** Longest idempotency key, in characters. */
export const MAX_REQUEST_ID_LENGTH = 128;

/** An idempotency key: up to 128 characters, no control or bidi-control characters; empty = none. */
export function parseRequestId(requestId: string): string | undefined {
  if (requestId === "") return undefined;
  if ([...requestId].length > MAX_REQUEST_ID_LENGTH) {
    throw invalidArgument(`request_id is longer than ${MAX_REQUEST_ID_LENGTH} characters`);
  }
  if (CONTROL.test(requestId)) {
    throw invalidArgument("request_id contains control or bidi-control characters");
  }
  return requestId;
}

/** Everything `reserve` accepts, checked in one place. `now` is for hold expiries. */
export function parseNewReservation(
  input: {
    userId: string;
    resourceId: string;
    status: Status | undefined;
    start: Micros | undefined;
    end: Micros | undefined;
    note: string;
    expiresAt?: Micros | undefined;
    holdSeconds?: number | undefined;
    requestId?: string | undefined;
  },
  now: Micros,
): NewReservation {
  const { start, end } = parseWindow(input.start, input.end);
  const status = parseInitialStatus(input.status);
  const holdSeconds = input.holdSeconds || undefined;
  if (input.expiresAt !== undefined || holdSeconds !== undefined) {
    if (input.expiresAt !== undefined && holdSeconds !== undefined) {
      throw invalidArgument("set either expires_at or hold_seconds, not both");
    }
    if (status !== "pending") throw invalidArgument("only a pending reservation can be a hold");
    if (input.expiresAt !== undefined && parseTime("expires_at", input.expiresAt) <= now) {
      throw invalidArgument("expires_at must be in the future");
    }
    const expiry = input.expiresAt ?? now + BigInt(holdSeconds ?? 0) * 1_000_000n;
    if (expiry - now > MAX_HOLD_MICROS) {
      throw invalidArgument(
        `a hold lasts at most a year (${MAX_HOLD_MICROS / DAY_MICROS} days): ${input.expiresAt === undefined ? "hold_seconds" : "expires_at"} is too far`,
      );
    }
  }
  return {
    userId: parseName("user_id", input.userId),
    resourceId: parseName("resource_id", input.resourceId),
    status,
    start,
    end,
    note: parseNote(input.note),
    expiresAt: input.expiresAt,
    holdSeconds,
    requestId: parseRequestId(input.requestId ?? ""),
  };
}

/** Units asked for (a reservation's quantity, an `available` quantity): 0 = 1, negative is refused. */
export function parseQuantity(field: string, quantity: number): number {
  if (!Number.isInteger(quantity) || quantity < 0) {
    throw invalidArgument(`${field} must not be negative`);
  }
  return Math.max(quantity, 1);
}
