import { ConnectError } from "@connectrpc/connect";
import { isDatabaseTimeout, isDatabaseUnavailable, sqlState } from "../../db/engine/db-errors.js";
import { Code, RsvpError } from "../../domain/errors.js";
import type { Logger } from "../logger.js";

const CODES = new Set<number>(Object.values(Code));

/**
 * Every error that leaves a handler, as the RsvpError the caller is shown. Database outages
 * and rsvp's statement and lock timeouts become UNAVAILABLE (retryable); anything unexpected becomes INTERNAL with a fixed message,
 * and its cause goes to the log, never to the caller.
 */
export function toRsvpError(err: unknown, log: Logger): RsvpError {
  if (err instanceof RsvpError) return err;
  // The protocol layer's own (deadline, cancellation, shutdown): their messages are ours.
  if (err instanceof ConnectError && CODES.has(err.code)) {
    return new RsvpError(err.code as number as Code, err.rawMessage);
  }
  if (isDatabaseUnavailable(err)) {
    log.warn({ err }, "database unavailable");
    return new RsvpError(Code.Unavailable, "database unavailable, retry later");
  }
  if (isDatabaseTimeout(err)) {
    log.warn({ err }, "database too busy: statement or lock timeout");
    return new RsvpError(Code.Unavailable, "database busy, retry later");
  }
  const code = sqlState(err);
  if (code === "40001" || code === "40P01") {
    return new RsvpError(Code.Aborted, "concurrent update, retry");
  }
  if (code === "57014") return new RsvpError(Code.Cancelled, "request cancelled");
  if (err && typeof err === "object" && (err as { name?: unknown }).name === "AbortError") {
    return new RsvpError(Code.Cancelled, "request cancelled");
  }
  log.error({ err }, "internal error");
  return new RsvpError(Code.Internal, "internal error");
}
