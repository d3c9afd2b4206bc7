import { create } from "@bufbuild/protobuf";
import {
  type Duration,
  DurationSchema,
  type Timestamp,
  TimestampSchema,
} from "@bufbuild/protobuf/wkt";
import { type ConflictInfo, invalidArgument } from "../domain/errors.js";
import type { Reservation as DomainReservation, Micros, Status } from "../domain/reservation.js";
import {
  type Reservation,
  type ReservationConflict,
  ReservationConflictSchema,
  ReservationSchema,
  ReservationStatus,
} from "../gen/reservation/reservation_pb.js";

/** A protobuf Timestamp as exact microseconds; nanoseconds below a microsecond are dropped. */
export function timestampToMicros(field: string, ts: Timestamp | undefined): Micros | undefined {
  if (ts === undefined) return undefined;
  if (!Number.isInteger(ts.nanos) || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw invalidArgument(`${field}.nanos must be within 0..999999999`);
  }
  return ts.seconds * 1_000_000n + BigInt(Math.floor(ts.nanos / 1000));
}

/** Exact microseconds as a protobuf Timestamp. */
export function microsToTimestamp(us: Micros): Timestamp {
  let seconds = us / 1_000_000n;
  let rest = us % 1_000_000n;
  if (rest < 0n) {
    seconds -= 1n;
    rest += 1_000_000n;
  }
  return create(TimestampSchema, { seconds, nanos: Number(rest) * 1000 });
}

const TO_PROTO: Record<Status, ReservationStatus> = {
  pending: ReservationStatus.PENDING,
  confirmed: ReservationStatus.CONFIRMED,
  blocked: ReservationStatus.BLOCKED,
  cancelled: ReservationStatus.CANCELLED,
  waiting: ReservationStatus.WAITING,
};

/** A wire status as a domain status; UNKNOWN is undefined (callers give it a meaning). */
export function statusFromProto(status: ReservationStatus): Status | undefined {
  switch (status) {
    case ReservationStatus.UNKNOWN:
      return undefined;
    case ReservationStatus.PENDING:
      return "pending";
    case ReservationStatus.CONFIRMED:
      return "confirmed";
    case ReservationStatus.BLOCKED:
      return "blocked";
    case ReservationStatus.CANCELLED:
      return "cancelled";
    case ReservationStatus.WAITING:
      return "waiting";
    default:
      throw invalidArgument(`status ${status} is not a known ReservationStatus`);
  }
}

/** A stored reservation as its wire message. */
export function reservationToProto(r: DomainReservation): Reservation {
  return create(ReservationSchema, {
    id: r.id,
    userId: r.userId,
    status: TO_PROTO[r.status],
    resourceId: r.resourceId,
    start: microsToTimestamp(r.start),
    end: microsToTimestamp(r.end),
    note: r.note,
    expiresAt: r.expiresAt === undefined ? undefined : microsToTimestamp(r.expiresAt),
    createdAt: microsToTimestamp(r.createdAt),
    updatedAt: microsToTimestamp(r.updatedAt),
    groupId: r.groupId ?? "",
    quantity: r.quantity,
    checkedInAt: r.checkedInAt === undefined ? undefined : microsToTimestamp(r.checkedInAt),
    cancelReason: r.cancelReason ?? "",
  });
}

/** A protobuf Duration as microseconds (negative durations are invalid here). */
export function durationToMicros(field: string, d: Duration | undefined): Micros {
  if (d === undefined) return 0n;
  if (d.seconds < 0n || d.nanos < 0 || d.nanos > 999_999_999) {
    throw invalidArgument(`${field} must be a non-negative duration`);
  }
  return d.seconds * 1_000_000n + BigInt(Math.floor(d.nanos / 1000));
}

/** Non-negative microseconds as a protobuf Duration. */
export function microsToDuration(us: Micros): Duration {
  return create(DurationSchema, {
    seconds: us / 1_000_000n,
    nanos: Number(us % 1_000_000n) * 1000,
  });
}

/** The ReservationConflict error detail every transport attaches to a clash. */
export function conflictToProto(c: ConflictInfo): ReservationConflict {
  return create(ReservationConflictSchema, {
    resourceId: c.resourceId,
    requestedStart: microsToTimestamp(c.requested.start),
    requestedEnd: microsToTimestamp(c.requested.end),
    existingStart: microsToTimestamp(c.existing.start),
    existingEnd: microsToTimestamp(c.existing.end),
    item: c.item ?? 0,
    free: c.free ?? 0,
  });
}
