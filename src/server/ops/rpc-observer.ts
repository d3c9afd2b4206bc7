import type { DescMethod } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import type { CallStart, ObservedCall, RpcObserver } from "../transport/call-observer.js";
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

/** One rpc being observed. A class: an object literal with a getter is slow to create. */
class ObservedRpc implements ObservedCall {
  readonly requestId: string;
  private callLog: Logger | undefined;
  private readonly type: string;
  private readonly startedAt = performance.now();
  private ended = false;

  constructor(
    private readonly serviceLog: Logger,
    private readonly metrics: Metrics,
    private readonly call: CallStart,
  ) {
    this.requestId = requestIdFrom(call.requestId);
    this.type = TYPES[call.kind];
    metrics.started(call.service, call.method, this.type, call.protocol);
  }

  /** Bound to the request id when first used: most calls log nothing at the level set. */
  get log(): Logger {
    this.callLog ??= this.serviceLog.child({ requestId: this.requestId });
    return this.callLog;
  }

  end(code: number): void {
    if (this.ended) return;
    this.ended = true;
    const seconds = (performance.now() - this.startedAt) / 1000;
    const { service, method, protocol } = this.call;
    this.metrics.finished({ service, method, type: this.type, protocol, code, seconds });
    const level =
      code === status.OK || code === status.CANCELLED
        ? "debug"
        : SERVER_FAULTS.has(code)
          ? "error"
          : "warn";
    if (!this.serviceLog.isLevelEnabled(level)) return;
    this.log[level](
      {
        rpc: `${service}/${method}`,
        protocol,
        code: codeName(code),
        durationMs: Math.round(seconds * 10_000) / 10,
      },
      "rpc",
    );
  }
}

/**
 * Creates the observer: one log line per rpc (debug when it succeeds or the caller went away,
 * warn when the caller's request failed, error when the server failed), and the rpc metrics.
 */
export function createRpcObserver(log: Logger, metrics: Metrics): RpcObserver {
  return (call) => new ObservedRpc(log, metrics, call);
}
