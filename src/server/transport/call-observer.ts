import type { DescMethod } from "@bufbuild/protobuf";
import type { Logger } from "../logger.js";

// What a transport tells whoever observes its calls (logs and metrics live in ops/, above).

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
