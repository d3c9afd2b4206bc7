import type { Queryable } from "../../db/engine/db.js";
import { maintain } from "../../db/engine/maintenance.js";
import type { Logger } from "../logger.js";

/** Options of {@link startMaintenance}. */
export interface MaintenanceOptions {
  readonly log: Logger;
  /** How often to look for tables due (autovacuum's naptime is 1 minute). */
  readonly intervalMs: number;
}

/**
 * Keeps the embedded database's statistics fresh and its tables free of dead rows, as
 * autovacuum does for a Postgres server (PGlite has none): a timer, never a request's work.
 * One round at a time; a failed round is logged and the next one tries again.
 */
export function startMaintenance(db: Queryable, opts: MaintenanceOptions) {
  let running: Promise<void> | undefined;
  const round = async () => {
    try {
      const done = await maintain(db);
      if (done.analyzed.length + done.vacuumed.length > 0) opts.log.debug(done, "maintenance");
    } catch (err) {
      opts.log.warn({ err }, "database maintenance failed; will retry");
    }
  };
  const timer = setInterval(() => {
    running ??= round().finally(() => {
      running = undefined;
    });
  }, opts.intervalMs);
  timer.unref();
  return {
    /** Stops the timer and waits for a round in progress (the database stays open). */
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
