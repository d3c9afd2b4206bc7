import type { DescService } from "@bufbuild/protobuf";
import { Code, type ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { abortable } from "./call-abort.js";
import { type ObservedCall, OK, type RpcObserver } from "./call-observer.js";
import { toConnectError } from "./error-mapping.js";
import { describingRefusals } from "./refusal-bodies.js";
import { checkingBodies } from "./request-bodies.js";
import { REQUEST_ID } from "./request-id.js";

/** The protocol of a request on the HTTP port, from its content type. */
function protocolOf(header: Headers): string {
  const type = header.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  return type.startsWith("application/grpc") ? "grpc" : "connect";
}

async function* observeStream<T>(
  stream: AsyncIterable<T>,
  signal: AbortSignal,
  obs: ObservedCall,
  fail: (err: unknown) => ConnectError,
): AsyncIterable<T> {
  let settled = false;
  try {
    yield* stream;
    // A stream the signal cut short ends in that error, never in a misleading OK.
    signal.throwIfAborted();
    settled = true;
    obs.end(OK);
  } catch (err) {
    settled = true;
    throw fail(err);
  } finally {
    // Iteration stopped from outside: the client went away mid-stream.
    if (!settled) obs.end(Code.Canceled);
  }
}

/**
 * The Connect/gRPC-Web boundary: maps errors once, exactly as the native gRPC one does, gives
 * every call a request id, answers as soon as a call's deadline passes, and observes it.
 */
export function observingInterceptor(observe: RpcObserver): Interceptor {
  return (next) => async (req) => {
    const obs = observe({
      service: req.service.typeName,
      method: req.method.name,
      kind: req.method.methodKind,
      protocol: protocolOf(req.header),
      requestId: req.header.get(REQUEST_ID),
    });
    const fail = (err: unknown) => {
      const e = toConnectError(req.signal.aborted ? req.signal.reason : err, obs.log);
      e.metadata.set(REQUEST_ID, obs.requestId);
      obs.end(e.code);
      return e;
    };
    try {
      const res = await abortable(() => next(req), req.signal);
      res.header.set(REQUEST_ID, obs.requestId);
      if (!res.stream) {
        obs.end(OK);
        return res;
      }
      return { ...res, message: observeStream(res.message, req.signal, obs, fail) };
    } catch (err) {
      throw fail(err);
    }
  };
}

/**
 * Registers services on a Connect router: the same implementations native gRPC serves. Their
 * binary request bodies are checked first, so that a bad one is INVALID_ARGUMENT, never
 * INTERNAL; `maxBytes` is the largest request message.
 */
export function connectRoutes(
  services: Array<{ service: DescService; impl: object }>,
  maxBytes: number,
) {
  return (router: ConnectRouter) => {
    for (const { service, impl } of services) router.service(service, impl as never);
    // The adapter reads the router's handlers once routes are registered: checked ones then.
    const handlers = router.handlers as UniversalHandler[];
    handlers.forEach((h, i) => {
      handlers[i] = describingRefusals(checkingBodies(h, maxBytes));
    });
  };
}
