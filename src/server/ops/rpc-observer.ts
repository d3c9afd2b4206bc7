import type { DescMethod } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import { requestIdFrom } from "../transport/request-id.js";
import { codeName, type Metrics } from "./metrics.js";

/** The status code of a call that succeeded (gRPC numbering, which Connect shares). */
export const OK = 0;

/** What a transport knows when a call starts. */
export interface CallStart {
  readonly service: string;
  readonly method: string;
  readonly kind: DescMethod["methodKind"];
  /** "grpc", "grpc-web" or "connect". */
  readonly protocol: string;
  /** The caller's `x-request-id`, if it sent one. */
  readonly requestId: string | null | undefined;
}

/** One call being observed. */
export interface ObservedCall {
  /** The caller's id when usable, else a fresh one: returned to the caller in a header. */
  readonly requestId: string;
  /** The service's logger, bound to this call's request id. */
  readonly log: Logger;
  /** Records the call's final status code (gRPC numbering); later calls are ignored. */
  end(code: number): void;
}

/** Starts observing a call: the one place both transports log and measure rpcs. */
export type RpcObserver = (call: CallStart) => ObservedCall;

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
