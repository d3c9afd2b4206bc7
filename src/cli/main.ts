#!/usr/bin/env node
import { Command } from "commander";
import { migrate } from "../db/migrate.js";
import { openDb } from "../db/open.js";
import { startApp } from "../server/app.js";
import { ConfigError, loadConfig } from "../server/config.js";
import { createLogger } from "../server/logger.js";

const program = new Command("rsvp").description(
  "rsvp: reserve resources for time windows, never double-booked",
);

program
  .command("serve")
  .description(
    "run the server (configured from the environment: HOST, PORT, DATABASE_URL, RSVP_DATA_DIR)",
  )
  .action(async () => {
    const config = loadConfig();
    const log = createLogger();
    const app = await startApp({ config, log });
    process.stdout.write(
      `rsvp serving gRPC on ${app.grpcAddress}, HTTP on ${app.httpAddress}, database: ${app.db.description}\n`,
    );
    const stop = async (signal: string) => {
      log.info({ signal }, "shutting down");
      await app.close();
      process.exit(0);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
  });

program
  .command("migrate")
  .description("apply database migrations and exit")
  .action(async () => {
    const db = await openDb(loadConfig().database);
    try {
      const applied = await migrate(db);
      process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "up to date\n");
    } finally {
      await db.close();
    }
  });

program.parseAsync().catch((err: unknown) => {
  const message =
    err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`rsvp: ${message}\n`);
  process.exit(1);
});
