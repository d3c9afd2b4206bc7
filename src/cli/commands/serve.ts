import type { Command } from "commander";
import { startApp } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { createLogger } from "../../server/logger.js";

/** `rsvp serve`: the server, configured from the environment (what `npm start` runs). */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run the server (configured from the environment: HOST, PORT, DATABASE_URL, RSVP_DATA_DIR, RSVP_JWT_SECRET, …)",
    )
    .option(
      "--insecure",
      "serve a non-loopback HOST without authentication (same as RSVP_INSECURE=1)",
    )
    .action(async (opts: { insecure?: boolean }) => {
      const loaded = loadConfig();
      const config = opts.insecure ? { ...loaded, insecure: true } : loaded;
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
}
