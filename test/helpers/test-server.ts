import { credentials } from "@grpc/grpc-js";
import type { AuthConfig } from "../../src/auth/auth-config.js";
import {
  createResourceClient,
  createRsvpClient,
  type ResourceClient,
  type RsvpClient,
} from "../../src/client/grpc-client.js";
import type { DatabaseTarget } from "../../src/db/engine/open.js";
import { type App, type AppOptions, startApp } from "../../src/server/app.js";
import type { ChangeFeedOptions } from "../../src/server/feed/change-feed.js";
import type { Limits } from "../../src/server/limits.js";
import { createLogger } from "../../src/server/logger.js";
import type { TlsConfig } from "../../src/server/transport/tls-config.js";
import type { WebhookSettings } from "../../src/server/webhooks/webhook-settings.js";
import type { TestBackend, TestDatabase } from "./databases.js";

/** A real server on a free port over a fresh database, and a real gRPC client of it. */
export interface TestServer {
  readonly app: App;
  readonly client: RsvpClient;
  /** A client of the same server's resource catalog. */
  readonly resources: ResourceClient;
  readonly database: TestDatabase;
  /** Another server process-equivalent on the same database. */
  startAnother(
    feed?: Partial<ChangeFeedOptions>,
    extra?: TestAppOptions,
  ): Promise<{ app: App; client: RsvpClient; close(): Promise<void> }>;
  close(): Promise<void>;
}

const log = createLogger(process.env.TEST_LOG_LEVEL ?? "silent");

/** Knobs of the app under test beyond the change feed's. */
export interface TestAppOptions {
  readonly sweepIntervalMs?: number;
  /** How often the embedded database is maintained (ANALYZE/VACUUM). */
  readonly maintenanceIntervalMs?: number;
  /** Authentication on, with this key. */
  readonly auth?: AuthConfig;
  readonly limits?: Partial<Limits>;
  /** TLS on both ports; the test client then trusts this certificate. */
  readonly tls?: TlsConfig;
  /** How often listeners that asked for bookmarks get one. */
  readonly bookmarkSeconds?: number;
  /** Webhook delivery settings. */
  readonly webhooks?: Partial<WebhookSettings>;
  /** How webhook hosts are resolved and checked (default: DNS and the private-address check). */
  readonly resolveWebhookHost?: AppOptions["resolveWebhookHost"];
}

async function serve(
  target: DatabaseTarget,
  feed?: Partial<ChangeFeedOptions>,
  extra: TestAppOptions = {},
) {
  const app = await startApp({
    config: {
      host: "127.0.0.1",
      port: 0,
      httpPort: 0,
      database: target,
      retentionSeconds: 7 * 86400,
      auth: extra.auth,
      limits: extra.limits,
      tls: extra.tls,
      bookmarkSeconds: extra.bookmarkSeconds,
      webhooks: extra.webhooks,
    },
    log,
    feed,
    graceMs: 2000,
    sweepIntervalMs: extra.sweepIntervalMs ?? 100,
    maintenanceIntervalMs: extra.maintenanceIntervalMs,
    ...(extra.resolveWebhookHost ? { resolveWebhookHost: extra.resolveWebhookHost } : {}),
  });
  const creds = extra.tls ? credentials.createSsl(extra.tls.cert) : undefined;
  const client = createRsvpClient(app.grpcAddress, creds);
  const resources = createResourceClient(app.grpcAddress, creds);
  return {
    app,
    client,
    resources,
    async close() {
      client.close();
      resources.close();
      await app.close();
    },
  };
}

/** Starts a server for one test file. */
export async function startTestServer(
  backend: TestBackend,
  feed?: Partial<ChangeFeedOptions>,
  extra?: TestAppOptions,
): Promise<TestServer> {
  const database = await backend.create();
  const first = await serve(database.target, feed, extra);
  const others: Array<{ close(): Promise<void> }> = [];
  return {
    app: first.app,
    client: first.client,
    resources: first.resources,
    database,
    async startAnother(otherFeed, otherExtra) {
      const other = await serve(database.target, otherFeed, otherExtra);
      others.push(other);
      return other;
    },
    async close() {
      for (const o of others) await o.close();
      await first.close();
      await database.drop();
    },
  };
}
