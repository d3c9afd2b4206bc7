import { setTimeout as sleep } from "node:timers/promises";
import { renewIdentity, renewIdentityIfCopied } from "../db/engine/data-dir-identity.js";
import type { Db } from "../db/engine/db.js";
import { isDatabaseUnavailable } from "../db/engine/db-errors.js";
import { migrate } from "../db/engine/migrate.js";
import { type DatabaseTarget, openDb } from "../db/engine/open.js";
import { createBackoff } from "../shared/backoff.js";
import type { Logger } from "./logger.js";

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;

/** The database could not be reached for the whole start-up retry budget. */
export class StartupError extends Error {
  override readonly name = "StartupError";
}

/**
 * Opens the database and applies migrations. A database that cannot be reached yet (it is
 * starting, or the network is not up) is retried with exponential backoff for up to
 * `retrySeconds`, each attempt logged; any other failure ends start-up at once.
 */
export async function openMigrated(
  target: DatabaseTarget,
  log: Logger,
  retrySeconds: number,
): Promise<Db> {
  const giveUpAt = Date.now() + retrySeconds * 1000;
  const backoff = createBackoff({ firstMs: FIRST_DELAY_MS, maxMs: MAX_DELAY_MS });
  for (let attempt = 1; ; attempt++) {
    let db: Db | undefined;
    try {
      db = await openDb(target);
      const applied = await migrate(db);
      if (applied.length > 0) log.info({ applied }, "migrations applied");
      // A database started from a template is a copy of it, as every other one started so.
      if (target.kind === "embedded" && target.template !== undefined) await renewIdentity(db);
      else if (target.kind === "embedded" && !target.dataDir.startsWith("memory://")) {
        if (await renewIdentityIfCopied(db, target.dataDir)) {
          log.warn(
            { dataDir: target.dataDir },
            "data directory was copied or restored: it has a new identity, and cursors issued before refer to the original and are refused",
          );
        }
      }
      if (attempt > 1) log.info({ attempt }, "database reachable: starting");
      return db;
    } catch (err) {
      await db?.close().catch(() => {});
      if (!isDatabaseUnavailable(err)) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      const delay = backoff.next();
      if (Date.now() + delay > giveUpAt) {
        throw new StartupError(
          `database unreachable after ${attempt} attempts in ${retrySeconds}s: ${reason}`,
        );
      }
      log.warn({ attempt, retryInMs: delay, reason }, "database unreachable; retrying");
      await sleep(delay);
    }
  }
}
