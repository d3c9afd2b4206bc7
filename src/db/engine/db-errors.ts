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

/** The SQLSTATE (or Node/postgres.js error code) of a database error, if it has one. */
export function sqlState(err: unknown): string | undefined {
  const code = err && typeof err === "object" ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

/** Whether `err` says the database cannot be reached now (worth retrying later). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && (CONNECTION_CODES.has(code) || /^(08|53|57P0)/.test(code));
}

/**
 * Whether `err` is rsvp's own session limit at work: `statement_timeout` (57014 with that
 * reason; a caller's cancel is 57014 too, "due to user request") or `lock_timeout` (55P03).
 * The database is too busy to answer in time: worth retrying later.
 */
export function isDatabaseTimeout(err: unknown): boolean {
  const code = sqlState(err);
  if (code === "55P03") return true;
  const message = err instanceof Error ? err.message : "";
  return code === "57014" && /statement timeout/.test(message);
}

/**
 * Whether `err` is a cancel "due to user request". rsvp asks for one only for a statement
 * whose callers all gave up; when one arrives otherwise, it was meant for a statement that had
 * already finished on the same connection (or came from outside, e.g. pg_cancel_backend).
 */
export function isStrayCancel(err: unknown): boolean {
  const message = err instanceof Error ? err.message : "";
  return sqlState(err) === "57014" && /user request/.test(message);
}
