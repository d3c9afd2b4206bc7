import type { Queryable } from "../../db/engine/db.js";
import { oldestWriter, pruneChangesBatch } from "../../db/store/changes.js";
import type { Logger } from "../logger.js";
import type { ChangeFeedOptions } from "./feed-types.js";

const STALL_REPEAT_MS = 30_000;

/**
 * Prunes the history older than the retention in short batches until none is left: each
 * batch is its own transaction, so pruning a large backlog never holds anything for long.
 */
export async function pruneHistory(
  db: Queryable,
  opts: Pick<ChangeFeedOptions, "retentionSeconds" | "pruneBatch">,
  stopped: () => boolean,
): Promise<void> {
  const batch = opts.pruneBatch ?? 5000;
  while (!stopped() && (await pruneChangesBatch(db, opts.retentionSeconds, batch)) === batch) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Says, at most every 30 s, which rsvp writer holds delivery back once it has for `afterMs`:
 * a stall is an operator's problem to see, not a silent delay.
 */
export function createStallWarning(db: Queryable, log: Logger, afterMs: number) {
  let last = 0;
  return {
    /** `since`: the time (µs) of the oldest change waiting. */
    async check(since: bigint): Promise<void> {
      const heldMs = Date.now() - Number(since / 1000n);
      if (heldMs < afterMs || Date.now() - last < STALL_REPEAT_MS) return;
      last = Date.now();
      const writer = await oldestWriter(db);
      const held = `change feed held back ${Math.round(heldMs / 1000)}s`;
      log.warn(
        { heldMs, pid: writer?.pid, since: writer?.since, database: writer?.database },
        writer
          ? `${held} by rsvp writer pid ${writer.pid}, in a transaction open since ${writer.since.toISOString()}`
          : `${held} by an rsvp writer still in progress`,
      );
    },
  };
}
