import { pino } from "pino";

/** The service's structured logger. */
export type Logger = pino.Logger;

/** JSON logs to stdout; `LOG_LEVEL` picks the level (default info; tests use silent). */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { service: "rsvp" } });
}
