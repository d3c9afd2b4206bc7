import { readFileSync } from "node:fs";
import type net from "node:net";
import { ConfigError } from "../../domain/config-error.js";
import type { Logger } from "../logger.js";
import { createPeerCounts } from "./peer-counts.js";

/**
 * Bounds on connections, so that clients that connect and then stall cannot hold sockets
 * (and file descriptors) forever. Times are in milliseconds.
 */
export interface ConnectionLimits {
  /** Open connections per port; beyond it new ones are closed at once, with a warning logged. */
  readonly maxConnections: number;
  /**
   * Open connections per port from one remote address, well below `maxConnections`: one
   * address cannot fill the port; beyond it its new connections are closed at once.
   */
  readonly maxConnectionsPerPeer: number;
  /** From accept to the first byte the client sends (TLS handshake included). */
  readonly firstByteTimeoutMs: number;
  /** From the first byte to a complete request head (HTTP/1.1) or first stream (HTTP/2). */
  readonly headersTimeoutMs: number;
  /** How long a connection with no request in flight is kept open. */
  readonly idleTimeoutMs: number;
  /** From a request's head to the end of its body. */
  readonly requestTimeoutMs: number;
  /** From accept to a completed TLS handshake. */
  readonly handshakeTimeoutMs: number;
}

/**
 * Two ports at the default cap stay well under a 20,000 descriptor limit, with room for the
 * database, the data files and the log; one address holds at most a sixteenth of a port. The
 * timeouts are long for any honest client, and none is over 30 s: a stalled connection or
 * request gives its slot back within that.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 4096,
  maxConnectionsPerPeer: 256,
  firstByteTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  requestTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
};

const ENV: Record<keyof ConnectionLimits, string> = {
  maxConnections: "RSVP_MAX_CONNECTIONS",
  maxConnectionsPerPeer: "RSVP_MAX_CONNECTIONS_PER_PEER",
  firstByteTimeoutMs: "RSVP_FIRST_BYTE_TIMEOUT_MS",
  headersTimeoutMs: "RSVP_HEADERS_TIMEOUT_MS",
  idleTimeoutMs: "RSVP_IDLE_TIMEOUT_MS",
  requestTimeoutMs: "RSVP_REQUEST_TIMEOUT_MS",
  handshakeTimeoutMs: "RSVP_TLS_HANDSHAKE_TIMEOUT_MS",
};

/**
 * The connection limits from RSVP_MAX_CONNECTIONS, RSVP_MAX_CONNECTIONS_PER_PEER and the
 * RSVP_*_TIMEOUT_MS variables.
 */
export function loadConnectionLimits(env: NodeJS.ProcessEnv): ConnectionLimits {
  const out: Record<string, number> = {};
  for (const [key, name] of Object.entries(ENV) as Array<[keyof ConnectionLimits, string]>) {
    const value = env[name];
    if (value === undefined || value === "") {
      out[key] = DEFAULT_CONNECTION_LIMITS[key];
      continue;
    }
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new ConfigError(`${name} must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
    }
    out[key] = n;
  }
  return out as unknown as ConnectionLimits;
}

// One warning per interval at most: a flood of refused connections must not flood the log.
const WARN_EVERY_MS = 10_000;

/**
 * Caps `server`'s open connections at `maxConnections`: Node closes the ones beyond it as soon
 * as they are accepted, before they cost more than a moment of a descriptor. Returns the check
 * each accepted connection must pass first: it closes the connection, and answers false, when
 * its address already holds `maxConnectionsPerPeer`. Warns when either cap refuses.
 */
export function capConnections(
  server: net.Server,
  limits: Pick<ConnectionLimits, "maxConnections" | "maxConnectionsPerPeer">,
  port: string,
  log: Logger,
): (socket: net.Socket) => boolean {
  const max = limits.maxConnections;
  server.maxConnections = max;
  let refused = 0;
  let lastWarn = 0;
  server.on("drop", () => {
    refused++;
    const now = Date.now();
    if (now - lastWarn < WARN_EVERY_MS) return;
    lastWarn = now;
    log.warn(
      { port, maxConnections: max, refused },
      "connection limit reached: refusing new connections (RSVP_MAX_CONNECTIONS)",
    );
    refused = 0;
  });
  const perPeer = createPeerCounts(limits.maxConnectionsPerPeer, {
    port,
    setting: "RSVP_MAX_CONNECTIONS_PER_PEER",
    log,
  });
  return (socket) => {
    const release = perPeer.take(socket.remoteAddress ?? "unknown");
    if (!release) {
      socket.destroy();
      return false;
    }
    socket.once("close", release);
    return true;
  };
}

/** The soft limit on open files of this process, where the system says (Linux), else undefined. */
function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return line?.[1] === undefined ? undefined : Number(line[1]);
  } catch {
    return undefined;
  }
}

// Descriptors beyond the two ports' connections: the database, its files, the log.
const RESERVED_FILES = 256;

/**
 * Warns when two ports full of connections would exhaust the file limit: the cap must refuse
 * connections before accept() starts failing for everyone.
 */
export function warnIfCapExceedsFiles(maxConnections: number, log: Logger): void {
  const limit = openFilesLimit();
  const needed = 2 * maxConnections + RESERVED_FILES;
  if (limit !== undefined && needed > limit) {
    log.warn(
      { maxConnections, openFilesLimit: limit, needed },
      "RSVP_MAX_CONNECTIONS is too high for the open files limit: lower it or raise ulimit -n",
    );
  }
}
