import { type EventEmitter, once } from "node:events";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  isMessage,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { PEER_ADDRESS, peerHost } from "../../auth/caller.js";
import { grpcServiceDefinition, parsed } from "../../protocol/grpc-codec.js";
import { abortable } from "./call-abort.js";
import type { RpcObserver } from "./call-observer.js";
import { toGrpcStatus } from "./error-mapping.js";
import { REQUEST_ID } from "./request-id.js";
import { SEND_HEADERS } from "./send-headers.js";

type AnyHandler = (req: unknown, ctx: HandlerContext) => unknown;

function headersOf(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === "string") headers.set(key, value);
  }
  return headers;
}

type AnyCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

/**
 * The handler context of one call, built directly: one AbortController, aborted by the
 * client's cancel, its deadline or shutdown. Connect's createHandlerContext links three
 * controllers per call and must be aborted at the end to detach from the shared shutdown
 * signal, which cost a DOMException and a ConnectError per call: a third of an empty call.
 */
function scopeFor(
  service: DescService,
  method: DescMethod,
  call: AnyCall,
  inFlight: Set<AbortController>,
) {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  const hasDeadline = Number.isFinite(ms);
  const controller = new AbortController();
  const expire = () =>
    controller.abort(new ConnectError("deadline exceeded", Code.DeadlineExceeded));
  let timer: NodeJS.Timeout | undefined;
  if (hasDeadline) {
    if (ms <= Date.now()) expire();
    else timer = setTimeout(expire, ms - Date.now());
  }
  // grpc-js reports a passed deadline as a cancellation too: tell the two apart.
  const cancelled = () =>
    hasDeadline && Date.now() >= ms
      ? expire()
      : controller.abort(new ConnectError("cancelled by the client", Code.Canceled));
  (call as EventEmitter).on("cancelled", cancelled);
  inFlight.add(controller);
  const ctx: HandlerContext = {
    service,
    method,
    signal: controller.signal,
    timeoutMs: () => (hasDeadline ? ms - Date.now() : undefined),
    requestMethod: "POST",
    requestHeader: headersOf(call.metadata),
    responseHeader: new Headers(),
    responseTrailer: new Headers(),
    protocolName: "grpc",
    values: createContextValues().set(PEER_ADDRESS, peerHost(call.getPeer())),
    url: `/${service.typeName}/${method.name}`,
  };
  return {
    ctx,
    done() {
      // The stream's close after the response counts as a cancel to grpc-js: not ours to hear.
      (call as EventEmitter).off("cancelled", cancelled);
      clearTimeout(timer);
      inFlight.delete(controller);
    },
  };
}

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
}

/**
 * Lets a grpc-js server stream send every message queued behind the one in flight at once.
 * grpc-js's stream is a Writable with only `_write`: it hands HTTP/2 one message, then waits
 * for that write's callback (the next socket write) before the next, so a stream sent about
 * one message per event-loop turn, and with 100 listeners the feed fell ever further behind.
 * Node's Writable hands everything buffered to `_writev` when a stream has one: each message
 * is then written at once, in order, and HTTP/2 packs them into one socket write.
 * Without the internal call (a grpc-js that changed shape) the stream keeps grpc-js's path.
 */
function sendQueuedTogether(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
): void {
  const inner = (call as unknown as { call?: Partial<SendsMessages> }).call;
  if (typeof inner?.sendMessage !== "function") return;
  const send = inner as SendsMessages;
  const writable = call as unknown as {
    _writev?: (chunks: { chunk: unknown }[], callback: () => void) => void;
  };
  writable._writev = (chunks, callback) => {
    const last = chunks.length - 1;
    chunks.forEach(({ chunk }, i) => {
      send.sendMessage(chunk, i === last ? callback : noop);
    });
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
  const inFlight = new Set<AbortController>();
  opts.shutdownSignal.addEventListener(
    "abort",
    () => {
      for (const c of inFlight) c.abort(opts.shutdownSignal.reason);
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
      const { ctx, done } = scopeFor(service, m, call, inFlight);
      // Headers leave once: when the handler says (a stream that is now live), else with the
      // first message or the end, carrying what the handler set in ctx.responseHeader.
      let headersSent = false;
      const flushHeaders = () => {
        if (headersSent || call.cancelled) return;
        headersSent = true;
        const header = new grpc.Metadata();
        header.set(REQUEST_ID, obs.requestId);
        ctx.responseHeader.forEach((value, key) => {
          header.set(key, value);
        });
        call.sendMetadata(header);
      };
      ctx.values.set(SEND_HEADERS, flushHeaders);
      // Once the call was cut (deadline, client gone, shutdown), that is its outcome.
      const failure = (err: unknown) =>
        toGrpcStatus(ctx.signal.aborted ? ctx.signal.reason : err, obs.log);
      return { obs, ctx, done, failure, flushHeaders };
    };
    if (m.methodKind === "unary") {
      handlers[m.localName] = (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const { obs, ctx, done, failure, flushHeaders } = begin(call);
        abortable(() => handler(parsed(call.request), ctx), ctx.signal)
          .then(
            (res) => {
              obs.end(grpc.status.OK);
              flushHeaders();
              callback(null, toMessage(m.output, res));
            },
            (err: unknown) => {
              const status = failure(err);
              obs.end(status.code);
              flushHeaders();
              callback(status);
            },
          )
          .finally(done);
      };
    } else if (m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming") {
      handlers[m.localName] = async (
        call:
          | grpc.ServerWritableStream<unknown, unknown>
          | grpc.ServerDuplexStream<unknown, unknown>,
      ) => {
        const { obs, ctx, done, failure, flushHeaders } = begin(call);
        sendQueuedTogether(call);
        try {
          const input =
            m.methodKind === "server_streaming"
              ? parsed((call as grpc.ServerWritableStream<unknown, unknown>).request)
              : requestsOf(call as grpc.ServerDuplexStream<unknown, unknown>);
          for await (const res of handler(input, ctx) as AsyncIterable<unknown>) {
            if (ctx.signal.aborted) break;
            flushHeaders();
            if (!call.write(toMessage(m.output, res))) {
              // Rejects (and removes its listener) if the call is cut while waiting.
              await once(call, "drain", { signal: ctx.signal });
            }
          }
          // A stream the signal cut short ends in that error, never in a misleading OK.
          ctx.signal.throwIfAborted();
          obs.end(grpc.status.OK);
          flushHeaders();
          call.end();
        } catch (err) {
          const status = failure(err);
          obs.end(status.code);
          flushHeaders();
          if (!call.cancelled) call.emit("error", status);
        } finally {
          done();
        }
      };
    }
  }
  server.addService(grpcServiceDefinition(service), handlers);
}
