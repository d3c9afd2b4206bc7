import { setMaxListeners } from "node:events";
import type net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createAuthenticator } from "../auth/authenticator.js";
import { insecureBindRefusal, isLoopback } from "../auth/bind-check.js";
import { withAuth } from "../auth/with-auth.js";
import type { Db } from "../db/engine/db.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { ReservationService } from "../gen/reservation/reservation_pb.js";
import { ResourceService } from "../gen/reservation/resource_pb.js";
import { WebhookService } from "../gen/reservation/webhook_pb.js";
import { calendarRoute } from "./calendar/calendar-route.js";
import { type Config, ConfigError, DEFAULTS } from "./config.js";
import { type ChangeFeed, type ChangeFeedOptions, createChangeFeed } from "./feed/change-feed.js";
import { GRPC_OPTIONS, hostPort, listenGrpc } from "./grpc-listener.js";
import { DEFAULT_LIMITS, MAX_MESSAGE_BYTES } from "./limits.js";
import type { Logger } from "./logger.js";
import { withBookingCounts } from "./ops/booking-counts.js";
import { countedDb } from "./ops/counted-db.js";
import { startExpirySweeper } from "./ops/expiry-sweeper.js";
import { createHealth } from "./ops/health.js";
import { startMaintenance } from "./ops/maintenance-task.js";
import { createMetrics, type Metrics, metricsRoute } from "./ops/metrics.js";
import { healthRoutes, type LastCheck, startProbe } from "./ops/readiness.js";
import { createReflection, type ServedService } from "./ops/reflection.js";
import { createRpcObserver } from "./ops/rpc-observer.js";
import { withDeadlines } from "./service/deadline.js";
import { createReservationService, type ServiceDeps } from "./service/reservation-service.js";
import { createResourceService } from "./service/resource-service.js";
import { createSecrets } from "./service/secrets.js";
import { openMigrated } from "./startup.js";
import { shutdownReason } from "./transport/call-abort.js";
import { connectRoutes, observingInterceptor } from "./transport/connect-transport.js";
import { DEFAULT_CONNECTION_LIMITS, warnIfCapExceedsFiles } from "./transport/connection-limits.js";
import { createGrpcConnectionBounds } from "./transport/grpc-connection-bounds.js";
import { requestFraming } from "./transport/grpc-request-framing.js";
import { addService } from "./transport/grpc-transport.js";
import type { HttpRoute } from "./transport/http-route.js";
import { createHttpServer } from "./transport/http-server.js";
import { webStatic } from "./transport/web-static.js";
import { type ResolvedAddress, resolvePublic } from "./webhooks/address-guard.js";
import { webhookMetrics } from "./webhooks/webhook-metrics.js";
import { createWebhookService } from "./webhooks/webhook-service.js";
import { WEBHOOK_DEFAULTS } from "./webhooks/webhook-settings.js";
import { startWebhookWorker, type WebhookWorker } from "./webhooks/webhook-worker.js";

/** Options beyond the configuration, mostly for tests. */
export interface AppOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly feed?: Partial<Omit<ChangeFeedOptions, "log">>;
  /** How long shutdown waits for in-flight calls before cutting them (overrides the config). */
  readonly graceMs?: number;
  /** How often expired holds are released (default 1 s). */
  readonly sweepIntervalMs?: number;
  /** How often the embedded database's tables are checked for ANALYZE/VACUUM (default 60 s). */
  readonly maintenanceIntervalMs?: number;
  /** How a webhook's host is resolved and checked, at Put and before each delivery (default: DNS and the private-address check). */
  readonly resolveWebhookHost?: (hostname: string) => Promise<ResolvedAddress>;
}

/** A running service. */
export interface App {
  /** The gRPC address actually bound (the port is resolved when 0 was asked for). */
  readonly grpcAddress: string;
  /** The HTTP address (Connect, gRPC-Web, health, metrics, web page). */
  readonly httpAddress: string;
  readonly db: Db;
  readonly feed: ChangeFeed;
  /**
   * Shuts down gracefully: stops accepting, ends streams, lets unary calls finish within the
   * grace period, then closes the database. Safe to call more than once.
   */
  close(): Promise<void>;
}

// After the grace period: how long cut calls get to send their UNAVAILABLE before the sockets close.
const CUT_MS = 500;

/**
 * The services' handlers, behind authentication when a key is configured, with their answers
 * kept to their deadlines.
 */
function servedServices(
  config: Config,
  deps: ServiceDeps,
  metrics: Metrics,
  webhooks: ReturnType<typeof createWebhookService>,
): ServedService[] {
  const authenticator = config.auth ? createAuthenticator(config.auth) : undefined;
  const serve = <S extends DescService>(service: S, impl: ServiceImpl<S>): ServedService => ({
    service,
    impl: withDeadlines(service, authenticator ? withAuth(service, impl, authenticator) : impl),
  });
  return [
    serve(ReservationService, withBookingCounts(createReservationService(deps), metrics)),
    serve(ResourceService, createResourceService(deps.db)),
    serve(WebhookService, webhooks),
  ];
}

/**
 * Opens the database (retrying while it is unreachable), applies migrations, and serves gRPC
 * on `config.port` and Connect, gRPC-Web and plain HTTP on `config.httpPort`.
 */
export async function startApp(opts: AppOptions): Promise<App> {
  const { config, log } = opts;
  // Secure by default: refused before anything is opened or bound.
  const refusal = insecureBindRefusal(
    config.host,
    config.auth !== undefined,
    config.insecure ?? false,
  );
  if (refusal) throw new ConfigError(refusal);
  if (!config.auth && !isLoopback(config.host)) {
    log.warn({ host: config.host }, "serving without authentication beyond loopback (--insecure)");
  }
  const limits = { ...DEFAULT_LIMITS, ...config.limits };
  const connections = { ...DEFAULT_CONNECTION_LIMITS, ...config.connections };
  warnIfCapExceedsFiles(connections.maxConnections, log);
  const graceMs = opts.graceMs ?? config.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs;
  const metrics = createMetrics();
  const retrySeconds = config.startupRetrySeconds ?? DEFAULTS.startupRetrySeconds;
  const db = countedDb(await openMigrated(config.database, log, retrySeconds), metrics.dbInFlight);
  const feed = createChangeFeed(db, {
    log,
    retentionSeconds: config.retentionSeconds,
    pollIntervalMs: 1000,
    ...opts.feed,
  });
  // Aborted when the grace period is over: what still runs then is cut.
  const graceOver = new AbortController();
  // Every call in flight on the HTTP port listens to it: many at once are no leak.
  setMaxListeners(0, graceOver.signal);
  const grpcBounds = createGrpcConnectionBounds(connections, limits.maxStreamsPerPeer, log);
  const server = new grpc.Server({
    ...GRPC_OPTIONS,
    // A truncated or corrupt request message is INVALID_ARGUMENT, as on the HTTP port. The
    // framing check adjusts grpc-js's own call, so it must be the first to see it.
    interceptors: [requestFraming, grpcBounds.interceptor],
    "grpc.max_concurrent_streams": limits.maxStreamsPerConnection,
    // A connection without calls is closed (GOAWAY) after this; a silent one too.
    "grpc.max_connection_idle_ms": connections.idleTimeoutMs,
  });
  let closing = false;
  const webhookSettings = { ...WEBHOOK_DEFAULTS, ...config.webhooks };
  let webhookWorker: WebhookWorker | undefined;
  const resolveWebhookHost =
    opts.resolveWebhookHost ??
    ((hostname: string) => resolvePublic(hostname, webhookSettings.allowPrivate));
  const services = servedServices(
    config,
    {
      db,
      feed,
      limits,
      bookmarkMs: (config.bookmarkSeconds ?? DEFAULTS.bookmarkSeconds) * 1000,
    },
    metrics,
    createWebhookService({
      db,
      resolve: resolveWebhookHost,
      onChange: () => webhookWorker?.wake(),
    }),
  );
  // grpc.health.v1: load balancers and orchestrators ask it whether to send traffic.
  const health = createHealth(services.map((s) => s.service.typeName));
  const grpcServices = [...services, { service: Health, impl: health.impl }];
  grpcServices.push(...createReflection(grpcServices.map((s) => s.service)));
  const observe = createRpcObserver(log, metrics);
  // The database checks' latest answer, shared by the probe and /readyz.
  const lastCheck: LastCheck = { reason: undefined };
  const extraRoutes: HttpRoute[] = [
    healthRoutes(db, () => closing, lastCheck),
    metricsRoute(metrics),
    calendarRoute({
      db,
      authenticator: config.auth ? createAuthenticator(config.auth) : undefined,
      log,
    }),
    webStatic(),
  ];
  const http = createHttpServer({
    routes: connectRoutes(services, MAX_MESSAGE_BYTES),
    interceptors: [observingInterceptor(observe)],
    extraRoutes,
    corsOrigins: config.corsOrigins ?? [],
    readMaxBytes: MAX_MESSAGE_BYTES,
    maxConcurrentStreams: limits.maxStreamsPerConnection,
    maxStreamsPerPeer: limits.maxStreamsPerPeer,
    tls: config.tls,
    shutdownSignal: graceOver.signal,
    connections,
    // With authentication on, a rebound host name gets a page nothing it has no token for.
    allowedHosts: config.auth ? undefined : (config.allowedHosts ?? []),
    log,
  });
  let grpcListener: net.Server | undefined;
  try {
    await feed.start();
    metrics.trackFeed(feed);
    const deliveries = webhookMetrics(metrics.registry);
    webhookWorker = await startWebhookWorker({
      db,
      log,
      settings: webhookSettings,
      cursors: createSecrets(db).cursors,
      onAttempt: deliveries.attempted,
      resolve: resolveWebhookHost,
    });
    deliveries.track(webhookWorker);
    for (const { service, impl } of grpcServices) {
      addService(server, service, impl as Record<string, unknown>, {
        observe,
        shutdownSignal: graceOver.signal,
      });
    }
    const grpcBound = await listenGrpc(server, config, connections, grpcBounds, log);
    grpcListener = grpcBound.listener;
    const port = grpcBound.port;
    const httpPort = await http.listen(config.host, config.httpPort);
    log.info(
      {
        authentication: config.auth?.key.kind ?? "off",
        tls: config.tls !== undefined,
        limits,
        connections,
      },
      "security settings",
    );
    const probe = startProbe(
      db,
      health,
      config.healthProbeMs ?? DEFAULTS.healthProbeMs,
      log,
      lastCheck,
    );
    const sweeper = startExpirySweeper(db, { log, intervalMs: opts.sweepIntervalMs ?? 1000 });
    // A Postgres server has autovacuum; the embedded database has this.
    const maintenance =
      db.kind === "embedded"
        ? startMaintenance(db, { log, intervalMs: opts.maintenanceIntervalMs ?? 60_000 })
        : undefined;

    const shutdown = async () => {
      closing = true;
      log.info({ graceMs }, "draining calls");
      probe.stop();
      sweeper.stop();
      const maintained = maintenance?.stop();
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      });
      // Stop accepting first; then end the open-ended streams, each with OK: watchers hear
      // NOT_SERVING first, listeners resume from their cursor elsewhere.
      const drained = Promise.all([
        new Promise<void>((resolve) => grpcListener?.close(() => resolve()) ?? resolve()),
        new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
        http.close(),
        health.close(),
        feed.close(),
        webhookWorker?.close(graceOver.signal),
      ]).then(() => false);
      if (await Promise.race([drained, expired])) {
        log.warn("grace period over: cutting the calls still running");
        // They answer UNAVAILABLE now; a moment for those answers to leave, then the sockets go.
        graceOver.abort(shutdownReason());
        await Promise.race([drained, sleep(CUT_MS)]);
        server.forceShutdown();
        http.destroy();
      }
      clearTimeout(timer);
      await maintained;
      await db.close(); // last: nothing needs it any more
      log.info("stopped");
    };
    let closed: Promise<void> | undefined;
    return {
      grpcAddress: hostPort(config.host, port),
      httpAddress: hostPort(config.host, httpPort),
      db,
      feed,
      close: () => {
        closed ??= shutdown();
        return closed;
      },
    };
  } catch (err) {
    grpcListener?.close();
    server.forceShutdown();
    http.destroy();
    await webhookWorker?.close().catch(() => {});
    await feed.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}
