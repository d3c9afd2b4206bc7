import type { Queryable } from "../../db/engine/db.js";
import { releaseExpiredHolds, resourcesWithExpiredHolds } from "../../db/store/holds.js";
import { releaseLapses, resourcesWithLapses } from "../../db/store/lapses.js";
import { pruneRequestKeys } from "../../db/store/request-keys.js";
import type { Logger } from "../logger.js";

/** Options of {@link startExpirySweeper}. */
export interface ExpirySweeperOptions {
  readonly log: Logger;
  /** How often to look for expired holds, no-shows and waits; release is this prompt. */
  readonly intervalMs: number;
}

/**
 * Expires what has a lifetime: releases expired holds (status → cancelled, a DELETE on listen)
 * a moment after they pass, releases no-shows (cancel_reason "no-show") at start +
 * release_after, cancels waits whose start has come ("wait expired"), each handing the freed
 * room to whoever waits in the same transaction, and, hourly, forgets idempotency keys past
 * their retention.
 * Every server process runs one; they share the work safely, since each release takes the
 * resource's lock and only cancels what is still pending and expired. The reserve path does
 * not wait for this: it releases expired holds in its way itself.
 */
export function startExpirySweeper(db: Queryable, opts: ExpirySweeperOptions) {
  /** Releases the resources `find` names, 200 at a time, until a look finds fewer. */
  const drain = async (
    find: (db: Queryable, limit: number) => Promise<string[]>,
    release: (db: Queryable, resourceId: string) => Promise<unknown>,
  ) => {
    for (;;) {
      const resources = await find(db, 200);
      for (const resourceId of resources) await release(db, resourceId);
      if (resources.length < 200) return;
    }
  };
  let running = false;
  let sweeps = 0;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      await drain(resourcesWithExpiredHolds, releaseExpiredHolds);
      await drain(resourcesWithLapses, releaseLapses);
      // Idempotency keys: hourly is plenty.
      if (sweeps++ % Math.max(1, Math.round(3_600_000 / opts.intervalMs)) === 0)
        while ((await pruneRequestKeys(db, 5000)) === 5000);
    } catch (err) {
      opts.log.warn(
        { err },
        "expiring holds, no-shows, waits or idempotency keys failed; will retry",
      );
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), opts.intervalMs);
  timer.unref();
  return {
    /** Stops sweeping (the database stays open). */
    stop: () => clearInterval(timer),
  };
}
