import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Db } from "../db/db.js";
import { migrate } from "../db/migrate.js";
import { openDb } from "../db/open.js";
import { ReservationService } from "../gen/reservation/reservation_pb.js";
import { type ChangeFeed, type ChangeFeedOptions, createChangeFeed } from "./change-feed.js";
import type { Config } from "./config.js";
import { connectRoutes, errorInterceptor } from "./connect-transport.js";
import { addService } from "./grpc-transport.js";
import { startHoldSweeper } from "./hold-sweeper.js";
import { createHttpServer, type HttpRoute } from "./http-server.js";
import type { Logger } from "./logger.js";
import { createReservationService } from "./reservation-service.js";
import { webStatic } from "./web-static.js";

/** Options beyond the configuration, mostly for tests. */
export interface AppOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly feed?: Partial<Omit<ChangeFeedOptions, "log">>;
  /** How long shutdown waits for in-flight calls before cutting them. */
  readonly graceMs?: number;
  /** How often expired holds are looked for (default 1000 ms). */
  readonly sweepIntervalMs?: number;
}

function listen(server: import("node:net").Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

/** A running service. */
export interface App {
  /** The gRPC address actually bound (the port is resolved when 0 was asked for). */
  readonly grpcAddress: string;
  /** The HTTP address (Connect, gRPC-Web, health, metrics, web page). */
  readonly httpAddress: string;
  readonly db: Db;
  readonly feed: ChangeFeed;
  close(): Promise<void>;
}

const GRPC_OPTIONS: grpc.ServerOptions = {
  // Idle listen streams stay open through proxies and NATs: HTTP/2 pings, not fake events.
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.max_receive_message_length": 1024 * 1024,
};

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Opens the database, applies migrations, and serves gRPC. */
export async function startApp(opts: AppOptions): Promise<App> {
  const { config, log } = opts;
  const db = await openDb(config.database);
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ applied }, "migrations applied");
    const feed = createChangeFeed(db, {
      log,
      retentionSeconds: config.retentionSeconds,
      pollIntervalMs: 1000,
      ...opts.feed,
    });
    await feed.start();
    const sweeper = startHoldSweeper(db, { log, intervalMs: opts.sweepIntervalMs ?? 1000 });

    const shutdown = new AbortController();
    const services = [
      { service: ReservationService, impl: createReservationService({ db, feed }) },
    ];
    const server = new grpc.Server(GRPC_OPTIONS);
    for (const { service, impl } of services) {
      addService(server, service, impl, { log, shutdownSignal: shutdown.signal });
    }
    // grpc.health.v1: load balancers and orchestrators ask it whether to send traffic.
    const health = new HealthImplementation({ "": "SERVING", [ReservationService.typeName]: "SERVING" });
    health.addToServer(server);
    const extraRoutes: HttpRoute[] = [webStatic()];
    const http = createHttpServer({
      routes: connectRoutes(services),
      interceptors: [errorInterceptor(log)],
      extraRoutes,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        hostPort(config.host, config.port),
        grpc.ServerCredentials.createInsecure(),
        (err, bound) => (err ? reject(err) : resolve(bound)),
      ),
    );

    const httpPort = await listen(http, config.host, config.httpPort);

    return {
      grpcAddress: hostPort(config.host, port),
      httpAddress: hostPort(config.host, httpPort),
      db,
      feed,
      async close() {
        // Stop accepting, end the streams, let unary calls finish (bounded), close the db last.
        shutdown.abort();
        sweeper.stop();
        await feed.close();
        const httpClosed = new Promise((resolve) => http.close(resolve));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, opts.graceMs ?? 10_000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await httpClosed;
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
