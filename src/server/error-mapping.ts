import { Code, RsvpError } from "../domain/errors.js";
import type { Logger } from "./logger.js";

// Node's socket errors and postgres.js's own connection errors.
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

function sqlState(err: object): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Every error that leaves a handler, as the RsvpError the caller is shown. Database outages
 * become UNAVAILABLE (retryable); anything unexpected becomes INTERNAL with a fixed message,
 * and its cause goes to the log, never to the caller.
 */
export function toRsvpError(err: unknown, log: Logger): RsvpError {
  if (err instanceof RsvpError) return err;
  if (err && typeof err === "object") {
    const code = sqlState(err);
    if (code !== undefined) {
      if (CONNECTION_CODES.has(code) || /^(08|53|57P0)/.test(code)) {
        log.warn({ err }, "database unavailable");
        return new RsvpError(Code.Unavailable, "database unavailable, retry later");
      }
      if (code === "40001" || code === "40P01") {
        return new RsvpError(Code.Aborted, "concurrent update, retry");
      }
      if (code === "57014") return new RsvpError(Code.Cancelled, "request cancelled");
    }
    if ((err as { name?: unknown }).name === "AbortError") {
      return new RsvpError(Code.Cancelled, "request cancelled");
    }
  }
  log.error({ err }, "internal error");
  return new RsvpError(Code.Internal, "internal error");
}
