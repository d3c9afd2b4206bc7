import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ReservationConflictSchema } from "../../src/gen/reservation/reservation_pb.js";
import { formatWindow } from "./format.js";

/** A failed call in plain words: a clash names the booking in the way. */
export function describeError(err: unknown): string {
  const e = ConnectError.from(err);
  if (e.code === Code.AlreadyExists) {
    const [conflict] = e.findDetails(ReservationConflictSchema);
    if (conflict?.existingStart && conflict.existingEnd) {
      const when = formatWindow(
        timestampMs(conflict.existingStart),
        timestampMs(conflict.existingEnd),
      );
      return `${conflict.resourceId} is already booked ${when}.`;
    }
  }
  if (e.code === Code.Unauthenticated) {
    return `The service wants a valid token (${e.rawMessage}): paste one under Access.`;
  }
  if (e.code === Code.Unavailable || e.code === Code.Unknown) {
    return `The service could not be reached (${e.rawMessage}). Try again in a moment.`;
  }
  // The service's messages are written to be shown to the caller.
  const text = e.rawMessage || "The request failed.";
  return text.charAt(0).toUpperCase() + text.slice(1);
}
