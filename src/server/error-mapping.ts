import { ConnectError } from "@connectrpc/connect";
import { Code, RsvpError } from "../domain/errors.js";
import type { Logger } from "./logger.js";

// Node's socket errors and postgres.js's own connection errors.
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

const CODES = new Set<number>(Object.values(Code));

function sqlState(err: unknown): string | undefined {
  const code = err && typeof err === "object" ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

/** Whether `err` says the database cannot be reached now (worth retrying later). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && (CONNECTION_CODES.has(code) || /^(08|53|57P0)/.test(code));
}

/**
 * Every error that leaves a handler, as the RsvpError the caller is shown. Database outages
 * become UNAVAILABLE (retryable); anything unexpected becomes INTERNAL with a fixed message,
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
