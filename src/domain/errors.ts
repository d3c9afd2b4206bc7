import type { TimeWindow } from "./reservation.js";

/**
 * The status codes of a failed call: the canonical gRPC codes, which Connect and gRPC-Web share
 * under the same numbers (connect-es's `Code`, grpc-js's `status`). The server, the client and
 * the CLI speak of failures in these; each transport's own enum takes them as they are.
 */
export const Code = {
  Cancelled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const CODES = new Map<number, Code>(Object.values(Code).map((c) => [c, c]));

const NAMES = new Map<number, string>(
  Object.entries(Code).map(([name, c]) => [
    c,
    name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(),
  ]),
);

/** A code's canonical name, as gRPC spells it: NOT_FOUND. */
export function codeName(code: Code): string {
  return NAMES.get(code) ?? "UNKNOWN";
}

/** A status number received from a peer, as a Code; one outside the set is UNKNOWN. */
export function codeOf(status: number): Code {
  return CODES.get(status) ?? Code.Unknown;
}

/** The structured part of an ALREADY_EXISTS caused by a clashing window. */
export interface ConflictInfo {
  readonly resourceId: string;
  readonly requested: TimeWindow;
  readonly existing: TimeWindow;
  /** In a group: the position (0-based) of the item that clashed. */
  readonly item?: number | undefined;
  /** Units free at the tightest instant of the requested window (0 on an exclusive resource). */
  readonly free?: number | undefined;
}

/**
 * The one error type below the transports: a code, a message safe to show to the caller, the
 * details every transport attaches (the clashes behind an ALREADY_EXISTS) and, for the log
 * only, the cause. The transports map it once, at their boundary (server/transport).
 */
export class RsvpError extends Error {
  override readonly name = "RsvpError";
  /** The details: the clashes behind an ALREADY_EXISTS, one, or one per clashing item of a group. */
  readonly conflicts: readonly ConflictInfo[];

  constructor(
    readonly code: Code,
    message: string,
    conflicts?: ConflictInfo | readonly ConflictInfo[],
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.conflicts =
      conflicts === undefined ? [] : "resourceId" in conflicts ? [conflicts] : conflicts;
  }

  /** The first clash, if any. */
  get conflict(): ConflictInfo | undefined {
    return this.conflicts[0];
  }
}

/** The most characters of a caller's value that an error message quotes. */
export const MAX_QUOTED_CHARACTERS = 64;

/** Where to cut `text` to keep `max` code points (never inside a surrogate pair), if it is longer. */
function cutAt(text: string, max: number): number | undefined {
  if (text.length <= max) return undefined;
  let at = 0;
  let chars = 0;
  for (const ch of text) {
    if (chars === max) return at;
    at += ch.length;
    chars++;
  }
  return undefined;
}

/** `text` cut after `max` characters, marked with "…" when it was cut. */
export function shorten(text: string, max = MAX_QUOTED_CHARACTERS): string {
  const at = cutAt(text, max);
  return at === undefined ? text : `${text.slice(0, at)}…`;
}

/**
 * A caller's value as an error message quotes it: JSON-quoted and cut after 64 characters
 * (then followed by "…"), so that a message never grows with the request. A status message
 * has to fit the trailers of the response that carries it; one too long is never sent.
 */
export function quote(value: string): string {
  const at = cutAt(value, MAX_QUOTED_CHARACTERS);
  return at === undefined ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, at))}…`;
}

export const invalidArgument = (message: string) => new RsvpError(Code.InvalidArgument, message);
export const notFound = (message: string) => new RsvpError(Code.NotFound, message);
export const failedPrecondition = (message: string) =>
  new RsvpError(Code.FailedPrecondition, message);
export const permissionDenied = (message: string) => new RsvpError(Code.PermissionDenied, message);
export const unauthenticated = (message: string) => new RsvpError(Code.Unauthenticated, message);
/** The caller's deadline passed before the work could be done; nothing was written. */
export const deadlineExceeded = () => new RsvpError(Code.DeadlineExceeded, "deadline exceeded");
export const resourceExhausted = (message: string) =>
  new RsvpError(Code.ResourceExhausted, message);
