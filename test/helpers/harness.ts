import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { DatabaseTarget } from "../../src/db/engine/open.js";
import { type App, type AppOptions, startApp } from "../../src/server/app.js";
import type { Config } from "../../src/server/config.js";
import { createLogger, type Logger } from "../../src/server/logger.js";

/** One parsed JSON log line. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A logger whose lines a test can read back. */
export interface CapturedLog {
  readonly log: Logger;
  readonly lines: LogLine[];
}

/** A real pino logger at `level`, writing into memory. */
export function captureLog(level = "debug"): CapturedLog {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() !== "") lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  return { log: createLogger(level, sink), lines };
}

/** Starts a real app on free loopback ports over `database`, with test-friendly defaults. */
export function startServer(
  database: DatabaseTarget,
  options: { config?: Partial<Config>; log?: Logger } & Partial<Omit<AppOptions, "config">> = {},
): Promise<App> {
  const { config, log, ...rest } = options;
  return startApp({
    config: {
      host: "127.0.0.1",
      port: 0,
      httpPort: 0,
      database,
      retentionSeconds: 3600,
      ...config,
    },
    log: log ?? createLogger(process.env.TEST_LOG_LEVEL ?? "silent"),
    graceMs: 2000,
    ...rest,
  });
}

/**
 * Waits until `check` returns a value other than undefined/false (or stops throwing), polling;
 * fails with the last reason after `timeoutMs`. For states that settle a moment later.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<Exclude<T, false | undefined>> {
  const giveUpAt = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > giveUpAt) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    }
    await sleep(25);
  }
}

/** `http://host:port` of an app's HTTP port. */
export const httpBase = (app: App) => `http://${app.httpAddress}`;
