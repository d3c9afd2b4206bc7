import { invalidArgument } from "./errors.js";
import type { InitialStatus, Micros, NewReservation, Status } from "./reservation.js";
import { MAX_MICROS, MIN_MICROS } from "./time.js";

/** Longest user or resource id, in characters (the columns are varchar(64)). */
export const MAX_ID_LENGTH = 64;
/** Longest note, in characters. */
export const MAX_NOTE_LENGTH = 4096;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Control characters: NUL cannot be stored in Postgres text at all, the rest are never intended.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A reservation (or group) id: a uuid, returned in lowercase canonical form. */
export function parseId(id: string, field = "id"): string {
  if (id === "") throw invalidArgument(`${field} is required`);
  if (!UUID.test(id)) throw invalidArgument(`${field} ${JSON.stringify(id)} is not a uuid`);
  return id.toLowerCase();
}

/** A user or resource id: 1–64 characters, no control characters. */
export function parseName(field: string, value: string): string {
  if (value === "") throw invalidArgument(`${field} is required`);
  if ([...value].length > MAX_ID_LENGTH) {
    throw invalidArgument(`${field} is longer than ${MAX_ID_LENGTH} characters`);
  }
  if (CONTROL.test(value)) throw invalidArgument(`${field} contains control characters`);
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

/** Statuses a reservation may be created with; unknown (undefined) becomes pending. */
export function parseInitialStatus(status: Status | undefined): InitialStatus {
  if (status === undefined) return "pending";
  if (status === "cancelled") {
    throw invalidArgument("a reservation cannot be created cancelled");
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

/** An idempotency key: up to 128 characters, no control characters; empty = none. */
export function parseRequestId(requestId: string): string | undefined {
  if (requestId === "") return undefined;
  if ([...requestId].length > MAX_REQUEST_ID_LENGTH) {
    throw invalidArgument(`request_id is longer than ${MAX_REQUEST_ID_LENGTH} characters`);
  }
  if (CONTROL.test(requestId)) throw invalidArgument("request_id contains control characters");
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
