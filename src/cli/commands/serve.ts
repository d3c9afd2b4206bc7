import * as grpc from "@grpc/grpc-js";
import type { Command } from "commander";
import { startApp } from "../../server/app.js";
import { type Config, loadConfig } from "../../server/config.js";
import { createLogger, type Logger } from "../../server/logger.js";
import { CliError, Exit } from "../errors.js";
import { assertPortFree } from "../port-check.js";

/**
 * A port another process holds, as one line naming the port and the variable that moves it,
 * instead of grpc-js's "No address added out of total 1 resolved errors: [...]".
 */
function explainBindFailure(err: unknown, config: Config): unknown {
  const e = err as NodeJS.ErrnoException & { port?: number };
  const inUse = e?.code === "EADDRINUSE" || /EADDRINUSE/.test(String(e?.message));
  if (!inUse) return err;
  // Node's own error (the HTTP port) names its port; grpc-js's names only the address.
  const [port, variable] =
    e.code === "EADDRINUSE" && e.port === config.httpPort
      ? [config.httpPort, "HTTP_PORT"]
      : [config.port, "PORT"];
  return new CliError(
    `port ${port} is already in use: another process listens on ${config.host}:${port} ` +
      `(stop it, or set ${variable} to another port)`,
    Exit.usage,
  );
}

/** grpc-js's own messages as log lines of the server's logger, not raw lines on stderr. */
function routeGrpcLogs(log: Logger): void {
  const line = (...args: unknown[]) => args.map(String).join(" ");
  grpc.setLogger({
    error: (...args: unknown[]) => log.warn({ source: "grpc-js" }, line(...args)),
    info: (...args: unknown[]) => log.info({ source: "grpc-js" }, line(...args)),
    debug: (...args: unknown[]) => log.debug({ source: "grpc-js" }, line(...args)),
  });
}

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
      routeGrpcLogs(log);
      const app = await (async () => {
        for (const port of [config.port, config.httpPort]) {
          await assertPortFree(config.host, port);
        }
        return startApp({ config, log });
      })().catch((err: unknown) => {
        throw explainBindFailure(err, config);
      });
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
