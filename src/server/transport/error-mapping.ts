import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { isDatabaseTimeout, isDatabaseUnavailable, sqlState } from "../../db/engine/db-errors.js";
import { Code, RsvpError, shorten } from "../../domain/errors.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { ReservationConflictSchema } from "../../gen/reservation/reservation_pb.js";
import { conflictToProto } from "../../protocol/convert.js";
import type { Logger } from "../logger.js";

/**
 * The longest status message sent, in characters. Messages quote callers' values cut short
 * already; this is the last bound, so that a status always fits the trailers that carry it
 * (grpc-js never sends a status too long for them, and the call then hangs). Even with every
 * character percent-encoded it stays far below HTTP/2's usual 64 KiB header block.
 */
export const MAX_STATUS_MESSAGE = 4096;

function bounded(e: RsvpError): RsvpError {
  if (e.message.length <= MAX_STATUS_MESSAGE) return e;
  return new RsvpError(e.code, shorten(e.message, MAX_STATUS_MESSAGE), e.conflicts, { cause: e });
}

/**
 * Every error that leaves a handler, as the RsvpError the caller is shown. Database outages
 * and rsvp's statement and lock timeouts become UNAVAILABLE (retryable); anything unexpected
 * becomes INTERNAL with a fixed message, and its cause goes to the log, never to the caller.
 */
export function toRsvpError(err: unknown, log: Logger): RsvpError {
  if (err instanceof RsvpError) return bounded(err);
  // The protocol layer's own (deadline, cancellation, shutdown): their messages are ours.
  if (err instanceof ConnectError) {
    return bounded(new RsvpError(err.code, err.rawMessage, [], { cause: err }));
  }
  if (isDatabaseUnavailable(err)) {
    log.warn({ err }, "database unavailable");
    return new RsvpError(Code.Unavailable, "database unavailable, retry later", [], { cause: err });
  }
  if (isDatabaseTimeout(err)) {
    log.warn({ err }, "database too busy: statement or lock timeout");
    return new RsvpError(Code.Unavailable, "database busy, retry later", [], { cause: err });
  }
  const code = sqlState(err);
  if (code === "40001" || code === "40P01") {
    return new RsvpError(Code.Aborted, "concurrent update, retry", [], { cause: err });
  }
  if (
    code === "57014" ||
    (err && typeof err === "object" && (err as { name?: unknown }).name === "AbortError")
  ) {
    return new RsvpError(Code.Cancelled, "request cancelled", [], { cause: err });
  }
  log.error({ err }, "internal error");
  return new RsvpError(Code.Internal, "internal error", [], { cause: err });
}

/** The gRPC status of an error, with rich details (google.rpc.Status) when it has any. */
export function toGrpcStatus(err: unknown, log: Logger): grpc.StatusObject {
  const e = toRsvpError(err, log);
  const metadata = new grpc.Metadata();
  if (e.conflicts.length > 0) {
    const status = create(StatusSchema, {
      code: e.code,
      message: e.message,
      details: e.conflicts.map((c) => anyPack(ReservationConflictSchema, conflictToProto(c))),
    });
    metadata.set("grpc-status-details-bin", Buffer.from(toBinary(StatusSchema, status)));
  }
  return { code: e.code, details: e.message, metadata };
}

/** The ConnectError of an error, for Connect and gRPC-Web, with the same code and details. */
export function toConnectError(err: unknown, log: Logger): ConnectError {
  // The protocol layer's own (a bad request body, a deadline): already what Connect sends.
  if (err instanceof ConnectError && err.rawMessage.length <= MAX_STATUS_MESSAGE) return err;
  const e = toRsvpError(err, log);
  const details = e.conflicts.map((c) => ({
    desc: ReservationConflictSchema,
    value: conflictToProto(c),
  }));
  return new ConnectError(e.message, e.code, undefined, details, e);
}
