import type { TimeWindow } from "./reservation.js";

/**
 * The closed set of error codes the service returns. The numbers are the canonical gRPC
 * status codes, which Connect and gRPC-Web share, so every transport maps them 1:1.
 */
export const Code = {
  Cancelled: 1,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Internal: 13,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

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

/** The one error class of the service. Its message is safe to show to the caller. */
export class RsvpError extends Error {
  override readonly name = "RsvpError";
  /** The clashes behind an ALREADY_EXISTS: one, or one per clashing item of a group. */
  readonly conflicts: readonly ConflictInfo[];

  constructor(
    readonly code: Code,
    message: string,
    conflicts?: ConflictInfo | readonly ConflictInfo[],
  ) {
    super(message);
    this.conflicts =
      conflicts === undefined ? [] : "resourceId" in conflicts ? [conflicts] : conflicts;
  }

  /** The first clash, if any. */
  get conflict(): ConflictInfo | undefined {
    return this.conflicts[0];
  }
}

export const invalidArgument = (message: string) => new RsvpError(Code.InvalidArgument, message);
export const notFound = (message: string) => new RsvpError(Code.NotFound, message);
export const failedPrecondition = (message: string) =>
  new RsvpError(Code.FailedPrecondition, message);
export const permissionDenied = (message: string) => new RsvpError(Code.PermissionDenied, message);
export const unauthenticated = (message: string) => new RsvpError(Code.Unauthenticated, message);
export const resourceExhausted = (message: string) =>
  new RsvpError(Code.ResourceExhausted, message);
