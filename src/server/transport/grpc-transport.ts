import { once } from "node:events";
import { create, type DescMessage, type DescService, isMessage } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition, parsed } from "../../protocol/grpc-codec.js";
import type { RpcObserver } from "./call-observer.js";
import { toGrpcStatus } from "./error-mapping.js";
import { type AnyCall, GrpcCallScope } from "./grpc-call-scope.js";
import { REQUEST_ID } from "./request-id.js";
import { SEND_HEADERS } from "./send-headers.js";

type AnyHandler = (req: unknown, ctx: HandlerContext) => unknown;

function toMessage(schema: DescMessage, value: unknown) {
  return isMessage(value, schema) ? value : create(schema, value as never);
}

/** A bidi call's requests; the call stays open for the responses when they run out. */
function requestsOf(call: grpc.ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const req of call.iterator({ destroyOnReturn: false })) yield parsed(req);
    },
  };
}

/** The part of grpc-js's server call (1.10+, not in its typings) that sends one message. */
interface SendsMessages {
  sendMessage(message: unknown, callback: () => void): void;
  /** The HTTP/2 stream, on grpc-js's own call (no interceptor layer above it). */
  readonly stream?: { cork?: () => void; uncork?: () => void };
}

/**
 * Lets a grpc-js server stream send every message queued behind the one in flight at once.
 * grpc-js's stream is a Writable with only `_write`: it hands HTTP/2 one message, then waits
 * for that write's callback (the next socket write) before the next, so a stream sent about
 * one message per event-loop turn, and with 100 listeners the feed fell ever further behind.
 * Node's Writable hands everything buffered to `_writev` when a stream has one: each message
 * is then written at once, in order, with the HTTP/2 stream corked meanwhile, so that they
 * leave as one write of DATA frames rather than one write each.
 * Without the internal call (a grpc-js that changed shape) the stream keeps grpc-js's path.
 */
function sendQueuedTogether(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
): void {
  const inner = (call as unknown as { call?: Partial<SendsMessages> }).call;
  if (typeof inner?.sendMessage !== "function") return;
  const send = inner as SendsMessages;
  const h2 = send.stream;
  const corks = typeof h2?.cork === "function" && typeof h2.uncork === "function";
  const writable = call as unknown as {
    _writev?: (chunks: { chunk: unknown }[], callback: () => void) => void;
  };
  writable._writev = (chunks, callback) => {
    const last = chunks.length - 1;
    if (corks) h2?.cork?.();
    chunks.forEach(({ chunk }, i) => {
      send.sendMessage(chunk, i === last ? callback : noop);
    });
    if (corks) h2?.uncork?.();
  };
}

const noop = () => {};

/** What the native gRPC transport needs besides the implementation. */
export interface GrpcOptions {
  readonly observe: RpcObserver;
  /** Aborted when shutdown's grace period is over: calls still running are cut then. */
  readonly shutdownSignal: AbortSignal;
}

/**
 * Serves a Connect-style service implementation on a grpc-js server: the thin native-gRPC
 * transport. Errors are mapped here, once; every call is logged and measured.
 */
export function addService(
  server: grpc.Server,
  service: DescService,
  impl: Record<string, unknown>,
  opts: GrpcOptions,
): void {
  const handlers: grpc.UntypedServiceImplementation = {};
  // Calls still running when shutdown's grace period ends are cut with its reason.
  const inFlight = new Set<GrpcCallScope>();
  opts.shutdownSignal.addEventListener(
    "abort",
    () => {
      for (const scope of inFlight) scope.abort(opts.shutdownSignal.reason);
    },
    { once: true },
  );
  for (const m of service.methods) {
    const handler = impl[m.localName] as AnyHandler | undefined;
    if (!handler) continue;
    const begin = (call: AnyCall) => {
      const [id] = call.metadata.get(REQUEST_ID);
      const obs = opts.observe({
        service: service.typeName,
        method: m.name,
        kind: m.methodKind,
        protocol: "grpc",
        requestId: typeof id === "string" ? id : undefined,
      });
      const scope = new GrpcCallScope(service, m, call, inFlight);
      // Headers leave once: when the handler says (a stream that is now live), else with the
      // first message or the end, carrying what the handler set in ctx.responseHeader.
      let headersSent = false;
      const flushHeaders = () => {
        if (headersSent || call.cancelled) return;
        headersSent = true;
        const header = new grpc.Metadata();
        header.set(REQUEST_ID, obs.requestId);
        scope.headersSet?.forEach((value, key) => {
          header.set(key, value);
        });
        call.sendMetadata(header);
      };
      scope.values.set(SEND_HEADERS, flushHeaders);
      // Once the call was cut (deadline, client gone, shutdown), that is its outcome.
      const failure = (err: unknown) => toGrpcStatus(scope.cut ? scope.cut.reason : err, obs.log);
      return { obs, scope, failure, flushHeaders };
    };
    if (m.methodKind === "unary") {
      handlers[m.localName] = (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const { obs, scope, failure, flushHeaders } = begin(call);
        // The answer, or the reason the call was cut as soon as it is: a caller whose deadline
        // passed or who went away gets its status now, not when the work ends (which stops
        // only where it watches the signal). A call cut before it starts runs nothing.
        const answer = scope.cut
          ? Promise.reject(scope.cut.reason)
          : new Promise<unknown>((resolve, reject) => {
              scope.whenCut(reject);
              try {
                Promise.resolve(handler(parsed(call.request), scope)).then(resolve, reject);
              } catch (err) {
                reject(err);
              }
            });
        answer.then(
          (res) => {
            scope.done();
            obs.end(grpc.status.OK);
            flushHeaders();
            callback(null, toMessage(m.output, res));
          },
          (err: unknown) => {
            scope.done();
            const status = failure(err);
            obs.end(status.code);
            flushHeaders();
            callback(status);
          },
        );
      };
    } else if (m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming") {
      handlers[m.localName] = async (
        call:
          | grpc.ServerWritableStream<unknown, unknown>
          | grpc.ServerDuplexStream<unknown, unknown>,
      ) => {
        const { obs, scope, failure, flushHeaders } = begin(call);
        sendQueuedTogether(call);
        try {
          const input =
            m.methodKind === "server_streaming"
              ? parsed((call as grpc.ServerWritableStream<unknown, unknown>).request)
              : requestsOf(call as grpc.ServerDuplexStream<unknown, unknown>);
          for await (const res of handler(input, scope) as AsyncIterable<unknown>) {
            if (scope.cut) break;
            flushHeaders();
            if (!call.write(toMessage(m.output, res))) {
              // Rejects (and removes its listener) if the call is cut while waiting.
              await once(call, "drain", { signal: scope.signal });
            }
          }
          // A stream the signal cut short ends in that error, never in a misleading OK.
          if (scope.cut) throw scope.cut.reason;
          obs.end(grpc.status.OK);
          flushHeaders();
          call.end();
        } catch (err) {
          const status = failure(err);
          obs.end(status.code);
          flushHeaders();
          if (!call.cancelled) call.emit("error", status);
        } finally {
          scope.done();
        }
      };
    }
  }
  server.addService(grpcServiceDefinition(service), handlers);
}
