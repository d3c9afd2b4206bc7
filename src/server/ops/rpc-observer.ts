import type { DescMethod } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import type { RpcObserver } from "../transport/call-observer.js";
import { requestIdFrom } from "../transport/request-id.js";
import { codeName, type Metrics } from "./metrics.js";

const TYPES: Record<DescMethod["methodKind"], string> = {
  unary: "unary",
  server_streaming: "server_stream",
  client_streaming: "client_stream",
  bidi_streaming: "bidi_stream",
};

// Caused by the server or its database, not by the caller: these page someone.
const SERVER_FAULTS = new Set<number>([
  status.UNKNOWN,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);

/**
 * Creates the observer: one log line per rpc (debug when it succeeds or the caller went away,
 * warn when the caller's request failed, error when the server failed), and the rpc metrics.
 */
export function createRpcObserver(log: Logger, metrics: Metrics): RpcObserver {
  return (call) => {
    const requestId = requestIdFrom(call.requestId);
    const callLog = log.child({ requestId });
    const type = TYPES[call.kind];
    const startedAt = performance.now();
    metrics.started(call.service, call.method, type, call.protocol);
    let ended = false;
    return {
      requestId,
      log: callLog,
      end(code) {
        if (ended) return;
        ended = true;
        const seconds = (performance.now() - startedAt) / 1000;
        const { service, method, protocol } = call;
        metrics.finished({ service, method, type, protocol, code, seconds });
        const level =
          code === status.OK || code === status.CANCELLED
            ? "debug"
            : SERVER_FAULTS.has(code)
              ? "error"
              : "warn";
        callLog[level](
          {
            rpc: `${call.service}/${call.method}`,
            protocol: call.protocol,
            code: codeName(code),
            durationMs: Math.round(seconds * 10_000) / 10,
          },
          "rpc",
        );
      },
    };
  };
}
