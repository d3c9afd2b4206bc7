import type { Command } from "commander";
import { migrate } from "../../db/engine/migrate.js";
import { openDb } from "../../db/engine/open.js";
import { loadConfig } from "../../server/config.js";

/** `rsvp migrate`: applies the database migrations and exits. */
export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("apply database migrations and exit")
    .action(async () => {
      const db = await openDb(loadConfig().database);
      try {
        const applied = await migrate(db);
        // Which database: the data directory, or the server's URL with its password masked.
        process.stdout.write(
          `database: ${db.description}: ${applied.length ? `applied ${applied.join(", ")}` : "up to date"}\n`,
        );
      } finally {
        await db.close();
      }
    });
}
