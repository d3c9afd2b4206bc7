import { pino } from "pino";

/** The service's structured logger. */
export type Logger = pino.Logger;

/**
 * JSON logs to stdout (or `destination`); `LOG_LEVEL` picks the level (default info; tests use
 * silent).
 */
export function createLogger(
  level = process.env.LOG_LEVEL ?? "info",
  destination?: pino.DestinationStream,
): Logger {
  const options = { level, base: { service: "rsvp" } };
  return destination ? pino(options, destination) : pino(options);
}
