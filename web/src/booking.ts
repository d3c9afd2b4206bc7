import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type Reservation, ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";

/** A reservation as the page draws it: times in epoch milliseconds. */
export interface Booking {
  readonly id: string;
  readonly resourceId: string;
  readonly userId: string;
  readonly status: ReservationStatus;
  readonly start: number;
  readonly end: number;
  readonly note: string;
  /** Shared by the reservations made together (a group or a series); "" for none. */
  readonly groupId: string;
  /** The units it takes of a counted resource (at least 1; a blocked one reports them all). */
  readonly quantity: number;
  /** When its owner checked in; undefined until then. */
  readonly checkedInAt?: number | undefined;
  /** Why it was cancelled; "" when it is not (or no reason was given). */
  readonly cancelReason?: string | undefined;
}

/** Converts a wire reservation; the page shows whole minutes, so milliseconds are plenty. */
export function toBooking(r: Reservation): Booking {
  return {
    id: r.id,
    resourceId: r.resourceId,
    userId: r.userId,
    status: r.status,
    start: r.start ? timestampMs(r.start) : 0,
    end: r.end ? timestampMs(r.end) : 0,
    note: r.note,
    groupId: r.groupId,
    quantity: Math.max(1, r.quantity),
    checkedInAt: r.checkedInAt ? timestampMs(r.checkedInAt) : undefined,
    cancelReason: r.cancelReason,
  };
}

/** Whether it occupies its window: not cancelled, and not waiting for the window to free. */
export function occupies(b: Pick<Booking, "status">): boolean {
  return b.status !== ReservationStatus.CANCELLED && b.status !== ReservationStatus.WAITING;
}

/** The lower-case status word, also the bar's CSS class. */
export function statusName(status: ReservationStatus): string {
  return ReservationStatus[status]?.toLowerCase() ?? "unknown";
}
