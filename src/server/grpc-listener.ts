import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { Config } from "./config.js";
import { MAX_MESSAGE_BYTES } from "./limits.js";
import type { Logger } from "./logger.js";
import { type ConnectionLimits, capConnections } from "./transport/connection-limits.js";
import type { GrpcConnectionBounds } from "./transport/grpc-connection-bounds.js";

/** The native gRPC server's options that do not depend on the configuration. */
export const GRPC_OPTIONS: grpc.ServerOptions = {
  // Idle listen streams stay open through proxies and NATs: HTTP/2 pings, not fake events.
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  // No channelz service is served: its per-call and per-message bookkeeping would be unread.
  "grpc.enable_channelz": 0,
};

function grpcCredentials(config: Config): grpc.ServerCredentials {
  if (!config.tls) return grpc.ServerCredentials.createInsecure();
  const { cert, key } = config.tls;
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
}

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Serves `server` on a listener of our own, handing it each connection: grpc-js's bindAsync
 * offers no cap on connections nor deadlines before a first call, and a net.Server and
 * `bounds` do. Resolves to the port bound.
 */
export function listenGrpc(
  server: grpc.Server,
  config: Config,
  connections: ConnectionLimits,
  bounds: GrpcConnectionBounds,
  log: Logger,
): Promise<{ port: number; listener: net.Server }> {
  const injector = server.createConnectionInjector(grpcCredentials(config));
  const listener = net.createServer((socket) => {
    if (!admit(socket)) return;
    bounds.accept(socket);
    injector.injectConnection(socket);
  });
  const admit = capConnections(listener, connections, "grpc", log);
  return new Promise((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(config.port, config.host, () => {
      listener.off("error", reject);
      const addr = listener.address();
      resolve({ port: typeof addr === "object" && addr ? addr.port : config.port, listener });
    });
  });
}
