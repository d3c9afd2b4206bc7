import type { EventEmitter } from "node:events";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import { PEER_ADDRESS, peerHost } from "../../auth/caller.js";

/** A grpc-js server call of any kind the native transport serves. */
export type AnyCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

function headersOf(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === "string") headers.set(key, value);
  }
  return headers;
}

/**
 * One native gRPC call's handler context, and how the call is cut: by the client's cancel, its
 * deadline, or shutdown (through `inFlight`). Built directly rather than with Connect's
 * createHandlerContext, which links three controllers per call and must be aborted at the end
 * to detach from the shared shutdown signal (a DOMException and a ConnectError per call: a
 * third of an empty call). The AbortController and the request and response headers are made
 * only when the handler reads them (a health check reads none, a `get` only the signal), and it
 * is a class, not an object literal with getters: those were a sixth of an empty call.
 */
export class GrpcCallScope implements HandlerContext {
  readonly requestMethod = "POST";
  readonly protocolName = "grpc";
  readonly values: ContextValues;
  /** Why the call was cut, once it was. */
  cut: { readonly reason: unknown } | undefined;
  private controller: AbortController | undefined;
  private onCut: ((reason: unknown) => void) | undefined;
  private readonly deadlineMs: number;
  private timer: NodeJS.Timeout | undefined;
  private requestHeaders: Headers | undefined;
  private responseHeaders: Headers | undefined;
  private responseTrailers: Headers | undefined;
  // grpc-js reports a passed deadline as a cancellation too: tell the two apart.
  private readonly cancelled = () => {
    if (this.deadlineMs <= Date.now()) this.expire();
    else this.abort(new ConnectError("cancelled by the client", Code.Canceled));
  };

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    private readonly call: AnyCall,
    private readonly inFlight: Set<GrpcCallScope>,
  ) {
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    this.deadlineMs = Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
    this.values = createContextValues().set(PEER_ADDRESS, peerHost(call.getPeer()));
    if (this.deadlineMs <= Date.now()) this.expire();
    else if (this.deadlineMs !== Number.POSITIVE_INFINITY) {
      this.timer = setTimeout(() => this.expire(), this.deadlineMs - Date.now());
    }
    (call as EventEmitter).on("cancelled", this.cancelled);
    inFlight.add(this);
  }

  get url(): string {
    return `/${this.service.typeName}/${this.method.name}`;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cut) this.controller.abort(this.cut.reason);
    }
    return this.controller.signal;
  }

  timeoutMs(): number | undefined {
    return this.deadlineMs === Number.POSITIVE_INFINITY ? undefined : this.deadlineMs - Date.now();
  }

  get requestHeader(): Headers {
    this.requestHeaders ??= headersOf(this.call.metadata);
    return this.requestHeaders;
  }

  get responseHeader(): Headers {
    this.responseHeaders ??= new Headers();
    return this.responseHeaders;
  }

  get responseTrailer(): Headers {
    this.responseTrailers ??= new Headers();
    return this.responseTrailers;
  }

  /** The response headers the handler set, without making any. */
  get headersSet(): Headers | undefined {
    return this.responseHeaders;
  }

  /** Cuts the call with `reason`; only the first reason counts. */
  abort(reason: unknown): void {
    if (this.cut) return;
    this.cut = { reason };
    this.controller?.abort(reason);
    this.onCut?.(reason);
  }

  /** Calls `fn` with the reason as soon as the call is cut (at once if it was), at most once. */
  whenCut(fn: (reason: unknown) => void): void {
    if (this.cut) fn(this.cut.reason);
    else this.onCut = fn;
  }

  /** The call is over: its deadline, cancel and shutdown no longer concern it. */
  done(): void {
    // The stream's close after the response counts as a cancel to grpc-js: not ours to hear.
    (this.call as EventEmitter).off("cancelled", this.cancelled);
    clearTimeout(this.timer);
    this.inFlight.delete(this);
  }

  private expire(): void {
    this.abort(new ConnectError("deadline exceeded", Code.DeadlineExceeded));
  }
}
