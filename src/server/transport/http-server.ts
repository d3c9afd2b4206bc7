import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { type ConnectRouter, createContextValues, type Interceptor } from "@connectrpc/connect";
import { type ConnectNodeAdapterOptions, connectNodeAdapter } from "@connectrpc/connect-node";
import { PEER_ADDRESS } from "../../auth/caller.js";
import type { Logger } from "../logger.js";
import { answerBusy } from "./busy-response.js";
import { type ConnectionLimits, capConnections } from "./connection-limits.js";
import { after, http1Timeouts, http2Timeouts } from "./connection-timeouts.js";
import { createCors } from "./cors.js";
import { createHostCheck, namedAuthorities, originForm } from "./host-check.js";
import type { HttpRoute } from "./http-route.js";
import { createPeerCounts } from "./peer-counts.js";
import { notFound, writeRefusal } from "./refusal-bodies.js";
import type { TlsConfig } from "./tls-config.js";

type NodeHandlerFn = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

export interface HttpServerOptions {
  readonly routes: (router: ConnectRouter) => void;
  readonly interceptors: Interceptor[];
  readonly extraRoutes: HttpRoute[];
  /** Allowed CORS origins for browsers on other origins ("*" for any); empty allows none. */
  readonly corsOrigins: readonly string[];
  /** The largest request message accepted; larger ones get RESOURCE_EXHAUSTED. */
  readonly readMaxBytes: number;
  /** Concurrent HTTP/2 streams one connection may have open. */
  readonly maxConcurrentStreams: number;
  /**
   * Requests one remote address may have in flight at once over all its connections; beyond
   * it a request is answered RESOURCE_EXHAUSTED (HTTP 429) at once.
   */
  readonly maxStreamsPerPeer: number;
  /** Serve TLS (HTTP/1.1 and HTTP/2 negotiated by ALPN) instead of cleartext. */
  readonly tls?: TlsConfig | undefined;
  /** Aborted when shutdown's grace period is over: calls still running are cut then. */
  readonly shutdownSignal: AbortSignal;
  /** The connection cap and the deadlines of each connection. */
  readonly connections: ConnectionLimits;
  /**
   * Host names answered besides loopback ones; undefined answers any (authentication is on,
   * so a rebound host name gains a page nothing).
   */
  readonly allowedHosts: readonly string[] | undefined;
  readonly log: Logger;
}

/** The HTTP port's server. */
export interface HttpServer {
  /** Starts listening; resolves to the port actually bound. */
  listen(host: string, port: number): Promise<number>;
  /**
   * Stops accepting connections and requests, lets those in flight finish, and resolves once
   * every connection is closed.
   */
  close(): Promise<void>;
  /** Drops every connection still open: the grace period is over. */
  destroy(): void;
}

/**
 * One port for Connect (JSON and binary), gRPC-Web and gRPC over both HTTP/1.1 and HTTP/2
 * (prior knowledge, or ALPN under TLS): the connection preface tells which server gets the
 * socket.
 */
export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const cors = createCors(opts.corsOrigins);
  const hostAllowed = opts.allowedHosts && createHostCheck(opts.allowedHosts);
  const limits = opts.connections;
  let closing = false;
  const rpc = connectNodeAdapter({
    routes: opts.routes,
    interceptors: opts.interceptors,
    readMaxBytes: opts.readMaxBytes,
    shutdownSignal: opts.shutdownSignal,
    contextValues: (req) => createContextValues().set(PEER_ADDRESS, req.socket.remoteAddress),
    fallback: async (req, res) => {
      for (const route of opts.extraRoutes) if (await route(req, res)) return;
      writeRefusal(res, 404, notFound(req.method, req.url));
    },
  });
  const streams = createPeerCounts(opts.maxStreamsPerPeer, {
    port: "http",
    setting: "RSVP_MAX_STREAMS_PER_PEER",
    log: opts.log,
  });
  const tooMany = `too many concurrent requests from this address: at most ${opts.maxStreamsPerPeer} (RSVP_MAX_STREAMS_PER_PEER)`;
  const handle: NodeHandlerFn = (req, res) => {
    if (closing && req.httpVersionMajor === 1) res.setHeader("connection", "close");
    // Counted from the request's head to the end of its response: a request whose body
    // stalls holds its address's slot until the request timeout cuts it.
    const release = streams.take(req.socket.remoteAddress ?? "unknown");
    if (!release) {
      answerBusy(req.headers["content-type"], res, tooMany);
      return;
    }
    res.once("close", release);
    const named = namedAuthorities(req);
    if (!named) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("a request names its host once: one Host header\n");
      return;
    }
    // HTTP/2 names the host in :authority, HTTP/1.1 in Host, an absolute-form request line
    // in its target: each must be allowed. 403 reads as PERMISSION_DENIED to gRPC and
    // Connect clients alike.
    if (hostAllowed && (named.length === 0 || !named.every(hostAllowed))) {
      res.writeHead(403, { "content-type": "text/plain" });
      res.end("host not allowed: set RSVP_ALLOWED_HOSTS, or enable authentication\n");
      return;
    }
    if (req.url !== undefined) req.url = originForm(req.url);
    if (!cors(req, res)) rpc(req, res);
  };
  const h1 = http.createServer(handle);
  // Node's own keep-alive timeout (5 s) would close an idle connection long before ours, and
  // it is what the Keep-Alive response header announces.
  h1.keepAliveTimeout = limits.idleTimeoutMs;
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: opts.maxConcurrentStreams } },
    handle,
  );
  const kinds = new Map<net.Socket, "pending" | "h1" | "h2">();
  // HTTP/1.1 requests in flight per connection: an idle one may be closed at once.
  const busy = new Map<net.Socket, number>();
  const sessions = new Set<http2.Http2Session>();
  const idle = http1Timeouts(h1, limits);

  h2.on("session", (session) => {
    http2Timeouts(session, limits);
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else {
        busy.delete(socket);
        if (closing) socket.end();
        else idle(socket);
      }
    });
  });

  const accept = (socket: net.Socket) => {
    kinds.set(socket, "pending");
    // A connection that never says anything is cut; under TLS this includes the handshake.
    const silent = after(limits.firstByteTimeoutMs, () => socket.destroy());
    socket.once("close", () => {
      clearTimeout(silent);
      kinds.delete(socket);
    });
    socket.on("error", () => socket.destroy());
    socket.once("data", (first) => {
      clearTimeout(silent);
      if (first.subarray(0, 3).toString("latin1") === "PRI") {
        kinds.set(socket, "h2");
        h2.emit("connection", replay(socket, first));
      } else {
        kinds.set(socket, "h1");
        socket.pause();
        socket.unshift(first);
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  };
  const secureContext = opts.tls && tls.createSecureContext(opts.tls);
  // Under TLS the same dispatch runs on the decrypted stream.
  const server = net.createServer((socket) => {
    if (!admit(socket)) return;
    if (!secureContext) return accept(socket);
    socket.on("error", () => socket.destroy());
    // tls.Server's handshakeTimeout does not apply to a TLSSocket built by hand: this does.
    const handshake = after(limits.handshakeTimeoutMs, () => socket.destroy());
    socket.once("close", () => clearTimeout(handshake));
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext,
      ALPNProtocols: ["h2", "http/1.1"],
    });
    secure.once("secure", () => clearTimeout(handshake));
    accept(secure);
  });
  const admit = capConnections(server, limits, "http", opts.log);

  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const addr = server.address();
          resolve(typeof addr === "object" && addr ? addr.port : port);
        });
      }),
    close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // HTTP/2 sessions send GOAWAY and finish their streams; idle HTTP/1.1 connections and
      // those that never sent a request go now, busy ones after their response.
      for (const session of sessions) session.close();
      for (const [socket, kind] of kinds) {
        if (kind === "pending") socket.destroy();
        else if (kind === "h1" && !busy.has(socket)) socket.end();
      }
      return closed;
    },
    destroy() {
      for (const session of sessions) session.destroy();
      for (const socket of kinds.keys()) socket.destroy();
    },
  };
}

/**
 * The socket as a stream that starts with the bytes already read. An HTTP/2 session reads
 * a native socket below JavaScript, where unshifted bytes are invisible, so it gets this.
 */
function replay(socket: net.Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read: () => socket.resume(),
    write: (chunk, _encoding, done) => socket.write(chunk, done),
    final: (done) => socket.end(done),
    destroy: (err, done) => {
      socket.destroy(err ?? undefined);
      done(err);
    },
  });
  // What the handlers see as `req.socket.remoteAddress` through HTTP/2's socket proxy.
  Object.defineProperty(stream, "remoteAddress", { get: () => socket.remoteAddress });
  stream.push(first);
  socket.on("data", (chunk) => stream.push(chunk) || socket.pause());
  socket.on("end", () => stream.push(null));
  socket.on("close", () => stream.destroy());
  return stream;
}
