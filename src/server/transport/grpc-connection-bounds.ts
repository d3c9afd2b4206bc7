import http2 from "node:http2";
import type net from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { after } from "./connection-timeouts.js";
import { createPeerCounts } from "./peer-counts.js";

type Bounds = Pick<
  ConnectionLimits,
  "firstByteTimeoutMs" | "headersTimeoutMs" | "requestTimeoutMs"
>;

/** Deadlines and per-address shares of the native gRPC port, which grpc-js has none of. */
export interface GrpcConnectionBounds {
  /** Arms the deadlines of a connection just accepted, before grpc-js is handed it. */
  accept(socket: net.Socket): void;
  /** Bounds each call: its address's share of streams, and the time its request may take. */
  readonly interceptor: grpc.ServerInterceptor;
}

/**
 * The native port's bounds. grpc-js reads its sockets below JavaScript and tells nothing of a
 * connection until it opens a stream, so: a connection must have sent a byte by the first-byte
 * deadline and opened its first call within the headers timeout after that deadline (a TLS
 * handshake or a trickled preface included); each call must have its request (unary and
 * server-streaming: the message and the end of the request; bidi: the first message) within
 * the request timeout, else it ends DEADLINE_EXCEEDED; one address holds at most
 * `maxStreamsPerPeer` calls at once, beyond which a call ends RESOURCE_EXHAUSTED on arrival.
 * Idle connections are grpc-js's to close (`grpc.max_connection_idle_ms`).
 */
export function createGrpcConnectionBounds(
  t: Bounds,
  maxStreamsPerPeer: number,
  log: Logger,
): GrpcConnectionBounds {
  // Connections that have not opened a call yet, by the address:port grpc-js reports for them.
  const unproven = new Map<string, () => void>();
  const streams = createPeerCounts(maxStreamsPerPeer, {
    port: "grpc",
    setting: "RSVP_MAX_STREAMS_PER_PEER",
    log,
  });
  const tooMany = {
    code: grpc.status.RESOURCE_EXHAUSTED,
    details: `too many concurrent calls from this address: at most ${maxStreamsPerPeer} (RSVP_MAX_STREAMS_PER_PEER)`,
  };
  const tooSlow = {
    code: grpc.status.DEADLINE_EXCEEDED,
    details: `the request did not arrive within ${t.requestTimeoutMs} ms (RSVP_REQUEST_TIMEOUT_MS)`,
  };
  return {
    accept(socket) {
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      let timer = after(t.firstByteTimeoutMs, () => {
        // bytesRead counts what the native HTTP/2 (or TLS) reader took from the socket too.
        if (socket.bytesRead === 0) socket.destroy();
        else timer = after(t.headersTimeoutMs, () => socket.destroy());
      });
      const proven = () => {
        clearTimeout(timer);
        if (unproven.get(key) === proven) unproven.delete(key);
      };
      unproven.set(key, proven);
      socket.once("close", proven);
    },
    // It adjusts grpc-js's own call in place, as the framing check does, rather than adding a
    // layer of its own: a layer is an object and closures per call on every message, header
    // and status, for what only a slow or crowded caller needs.
    interceptor(method, call) {
      const { remoteAddress, remotePort } = call.getConnectionInfo();
      unproven.get(`${remoteAddress}:${remotePort}`)?.();
      const start = call.start.bind(call);
      call.start = (listener) => {
        const release = streams.take(remoteAddress ?? "unknown");
        if (!release) {
          call.sendStatus(tooMany);
          endRequest(call);
          return;
        }
        const waiting = after(t.requestTimeoutMs, () => call.sendStatus(tooSlow));
        start({
          onReceiveMetadata: (metadata) => listener.onReceiveMetadata(metadata),
          onReceiveMessage(message) {
            if (method.requestStream) clearTimeout(waiting);
            listener.onReceiveMessage(message);
          },
          onReceiveHalfClose() {
            clearTimeout(waiting);
            listener.onReceiveHalfClose();
          },
          // grpc-js tells every end of a call here: its status sent, a cancel, a reset.
          onCancel() {
            clearTimeout(waiting);
            release();
            endRequest(call);
            listener.onCancel();
          },
        });
      };
      return call as grpc.ServerInterceptingCall;
    },
  };
}

/** What grpc-js's server calls keep of the calls they wrap (not in its typings). */
interface Wrapped {
  readonly nextCall?: unknown;
  readonly stream?: unknown;
}

/**
 * Ends the request side of a call that was answered before its client finished sending
 * (RFC 9113 §8.1: RST_STREAM NO_ERROR after a complete response). grpc-js only ends its own
 * side, so such a stream, and with it the connection, would stay open for as long as the
 * client keeps its side open: never, for a stalled one. The HTTP/2 stream is internal to
 * grpc-js (1.10+); a grpc-js that changed shape keeps its own behaviour.
 */
function endRequest(call: unknown): void {
  let c = call as Wrapped | undefined;
  for (let depth = 0; c && depth < 8; depth++) {
    const stream = c.stream as Partial<http2.ServerHttp2Stream> | undefined;
    if (typeof stream?.close === "function") {
      if (!stream.readableEnded && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      return;
    }
    c = c.nextCall as Wrapped | undefined;
  }
}
