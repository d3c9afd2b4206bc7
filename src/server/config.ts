import { isIP } from "node:net";
import { type AuthConfig, loadAuthConfig } from "../auth/auth-config.js";
import type { DatabaseTarget } from "../db/engine/open.js";
import { POSTGRES_DEFAULTS } from "../db/engine/postgres-db.js";
import { parsePostgresUrl } from "../db/engine/postgres-url.js";
import { ConfigError } from "../domain/config-error.js";
import { type Limits, loadLimits } from "./limits.js";
import { type ConnectionLimits, loadConnectionLimits } from "./transport/connection-limits.js";
import { loadTlsConfig, type TlsConfig } from "./transport/tls-config.js";
import { loadWebhookSettings, type WebhookSettings } from "./webhooks/webhook-settings.js";

export { ConfigError };

/** Everything the server reads from its environment. */
export interface Config {
  readonly host: string;
  /** Native gRPC. */
  readonly port: number;
  /** Connect, gRPC-Web and plain HTTP (health, metrics, the web page). */
  readonly httpPort: number;
  readonly database: DatabaseTarget;
  /** How long the change log keeps history for resuming listeners. */
  readonly retentionSeconds: number;
  /** How often a listener that asked for bookmarks gets a fresher cursor (default 10 s). */
  readonly bookmarkSeconds?: number;
  /** Browser origins allowed to call the HTTP port cross-origin ("*" for any); none by default. */
  readonly corsOrigins?: readonly string[];
  /** How long shutdown lets in-flight calls finish before cutting them (default 10 s). */
  readonly shutdownGraceMs?: number;
  /** How often the database is probed for the health service (default 1 s). */
  readonly healthProbeMs?: number;
  /** How long start-up keeps retrying an unreachable database before giving up (default 60 s). */
  readonly startupRetrySeconds?: number;
  /** Bearer-token verification; absent means authentication is off. */
  readonly auth?: AuthConfig | undefined;
  /** Serve a non-loopback HOST even with authentication off. */
  readonly insecure?: boolean | undefined;
  /** TLS on both ports; absent means plaintext. */
  readonly tls?: TlsConfig | undefined;
  /** Per-caller and per-connection bounds (each defaults when absent). */
  readonly limits?: Partial<Limits> | undefined;
  /** The connection cap per port and the deadlines of each connection (each defaults). */
  readonly connections?: Partial<ConnectionLimits> | undefined;
  /**
   * Host names the HTTP port answers besides loopback ones while authentication is off
   * (none by default).
   */
  readonly allowedHosts?: readonly string[] | undefined;
  /** How webhooks are delivered (each defaults). */
  readonly webhooks?: Partial<WebhookSettings> | undefined;
}

/** The defaults of the optional settings. */
export const DEFAULTS = {
  shutdownGraceMs: 10_000,
  healthProbeMs: 1000,
  startupRetrySeconds: 60,
  bookmarkSeconds: 10,
} as const;

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${name} must be a port number 0-65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

function seconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new ConfigError(
      `${name} must be a positive number of seconds, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function milliseconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new ConfigError(
      `${name} must be a positive whole number of milliseconds, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function origins(value: string | undefined): string[] {
  const list = (value ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const o of list) {
    // A browser's Origin header is scheme://host[:port], matched exactly: anything else,
    // wildcard subdomains included, could never match.
    const exact = !o.includes("*") && URL.canParse(o) && new URL(o).origin === o;
    if (o !== "*" && !exact) {
      throw new ConfigError(
        `RSVP_CORS_ORIGINS entries must look like https://app.example.com, got ${JSON.stringify(o)}`,
      );
    }
  }
  return list;
}

/** A whole number of milliseconds ≥ 0 (0: off). */
function timeoutMs(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ConfigError(
      `${name} must be a whole number of milliseconds (0: off), got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function hosts(value: string | undefined): string[] {
  const list = (value ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  for (const h of list) {
    const bare = h.replace(/^\[(.*)\]$/, "$1");
    if (isIP(bare) === 0 && !/^[a-z0-9.-]+$/.test(h)) {
      throw new ConfigError(
        `RSVP_ALLOWED_HOSTS entries must be host names or addresses without a port, got ${JSON.stringify(h)}`,
      );
    }
  }
  return list;
}

function database(env: NodeJS.ProcessEnv): DatabaseTarget {
  const { DATABASE_URL: url, RSVP_DATA_DIR: dataDir } = env;
  if (url === undefined || url === "") return { kind: "embedded", dataDir: dataDir || "./data" };
  if (url.startsWith("memory://")) return { kind: "embedded", dataDir: "memory://" };
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      parsePostgresUrl(url); // several hosts allowed: failover (docs/operations.md)
    } catch {
      throw new ConfigError("DATABASE_URL is not a valid URL");
    }
    return {
      kind: "postgres",
      url,
      statementTimeoutMs: timeoutMs(
        "RSVP_STATEMENT_TIMEOUT_MS",
        env.RSVP_STATEMENT_TIMEOUT_MS,
        POSTGRES_DEFAULTS.statementTimeoutMs,
      ),
      lockTimeoutMs: timeoutMs(
        "RSVP_LOCK_TIMEOUT_MS",
        env.RSVP_LOCK_TIMEOUT_MS,
        POSTGRES_DEFAULTS.lockTimeoutMs,
      ),
    };
  }
  throw new ConfigError("DATABASE_URL must start with postgres://, postgresql:// or memory://");
}

/** Reads the configuration from environment variables (each in docs/operations.md). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const host = env.HOST || "127.0.0.1";
  if (isIP(host) === 0 && !/^[a-z0-9.-]+$/i.test(host)) {
    throw new ConfigError(`HOST must be an IP address or host name, got ${JSON.stringify(host)}`);
  }
  return {
    host,
    port: port("PORT", env.PORT, 50051),
    httpPort: port("HTTP_PORT", env.HTTP_PORT, 8080),
    database: database(env),
    retentionSeconds: seconds(
      "RSVP_CHANGE_RETENTION_SECONDS",
      env.RSVP_CHANGE_RETENTION_SECONDS,
      7 * 86400,
    ),
    bookmarkSeconds: seconds(
      "RSVP_BOOKMARK_SECONDS",
      env.RSVP_BOOKMARK_SECONDS,
      DEFAULTS.bookmarkSeconds,
    ),
    corsOrigins: origins(env.RSVP_CORS_ORIGINS),
    shutdownGraceMs: milliseconds(
      "RSVP_SHUTDOWN_GRACE_MS",
      env.RSVP_SHUTDOWN_GRACE_MS,
      DEFAULTS.shutdownGraceMs,
    ),
    healthProbeMs: milliseconds(
      "RSVP_HEALTH_PROBE_MS",
      env.RSVP_HEALTH_PROBE_MS,
      DEFAULTS.healthProbeMs,
    ),
    startupRetrySeconds: seconds(
      "RSVP_STARTUP_RETRY_SECONDS",
      env.RSVP_STARTUP_RETRY_SECONDS,
      DEFAULTS.startupRetrySeconds,
    ),
    auth: loadAuthConfig(env),
    insecure: env.RSVP_INSECURE === "1",
    tls: loadTlsConfig(env),
    limits: loadLimits(env),
    connections: loadConnectionLimits(env),
    allowedHosts: hosts(env.RSVP_ALLOWED_HOSTS),
    webhooks: loadWebhookSettings(env),
  };
}
