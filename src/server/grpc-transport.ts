import { once } from "node:events";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  isMessage,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import type { RsvpError } from "../domain/errors.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { ReservationConflictSchema } from "../gen/reservation/reservation_pb.js";
import { microsToTimestamp } from "./convert.js";
import { toRsvpError } from "./error-mapping.js";
import type { Logger } from "./logger.js";

type AnyHandler = (req: unknown, ctx: HandlerContext) => unknown;

function serializer<T extends DescMessage>(schema: T) {
  return (msg: MessageShape<T>) => Buffer.from(toBinary(schema, msg));
}

function deserializer<T extends DescMessage>(schema: T) {
  return (buf: Buffer) => fromBinary(schema, buf);
}

/** grpc-js's service definition for a protobuf-es service: one protobuf runtime for both. */
export function grpcServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    def[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      originalName: m.name,
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: serializer(m.input) as (v: unknown) => Buffer,
      requestDeserialize: deserializer(m.input),
      responseSerialize: serializer(m.output) as (v: unknown) => Buffer,
      responseDeserialize: deserializer(m.output),
    };
  }
  return def;
}

/** The gRPC status for an RsvpError, with rich details (google.rpc.Status) when it has any. */
export function toGrpcStatus(e: RsvpError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (e.conflict) {
    const c = e.conflict;
    const detail = create(ReservationConflictSchema, {
      resourceId: c.resourceId,
      requestedStart: microsToTimestamp(c.requested.start),
      requestedEnd: microsToTimestamp(c.requested.end),
      existingStart: microsToTimestamp(c.existing.start),
      existingEnd: microsToTimestamp(c.existing.end),
    });
    const status = create(StatusSchema, {
      code: e.code,
      message: e.message,
      details: [anyPack(ReservationConflictSchema, detail)],
    });
    metadata.set("grpc-status-details-bin", Buffer.from(toBinary(StatusSchema, status)));
  }
  return { code: e.code as number as grpc.status, details: e.message, metadata };
}

function headersOf(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === "string") headers.set(key, value);
  }
  return headers;
}

function contextFor(
  service: DescService,
  method: DescMethod,
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  shutdownSignal: AbortSignal,
) {
  const requestAbort = new AbortController();
  call.on("cancelled", () => requestAbort.abort());
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return createHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: `/${service.typeName}/${method.name}`,
    timeoutMs: Number.isFinite(ms) ? Math.max(0, ms - Date.now()) : undefined,
    requestSignal: requestAbort.signal,
    shutdownSignal,
    requestHeader: headersOf(call.metadata),
  });
}

function toMessage(schema: DescMessage, value: unknown) {
  return isMessage(value, schema) ? value : create(schema, value as never);
}

/**
 * Serves a Connect-style service implementation on a grpc-js server: the thin native-gRPC
 * transport. Errors are mapped here, once.
 */
export function addService(
  server: grpc.Server,
  service: DescService,
  impl: Record<string, unknown>,
  opts: { log: Logger; shutdownSignal: AbortSignal },
): void {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const m of service.methods) {
    const handler = impl[m.localName] as AnyHandler | undefined;
    if (!handler) continue;
    const fail = (err: unknown) => toGrpcStatus(toRsvpError(err, opts.log));
    if (m.methodKind === "unary") {
      handlers[m.localName] = (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const ctx = contextFor(service, m, call, opts.shutdownSignal);
        Promise.resolve()
          .then(() => handler(call.request, ctx))
          .then(
            (res) => callback(null, toMessage(m.output, res)),
            (err: unknown) => callback(fail(err)),
          )
          .finally(() => ctx.abort());
      };
    } else if (m.methodKind === "server_streaming") {
      handlers[m.localName] = async (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const ctx = contextFor(service, m, call, opts.shutdownSignal);
        try {
          // The header goes out at once, so a client knows the stream is open before any event.
          call.sendMetadata(new grpc.Metadata());
          for await (const res of handler(call.request, ctx) as AsyncIterable<unknown>) {
            if (call.cancelled) break;
            if (!call.write(toMessage(m.output, res))) {
              await Promise.race([once(call, "drain"), once(ctx.signal, "abort")]);
            }
          }
          if (!call.cancelled) call.end();
        } catch (err) {
          if (!call.cancelled) call.emit("error", fail(err));
        } finally {
          ctx.abort();
        }
      };
    }
  }
  server.addService(grpcServiceDefinition(service), handlers);
}
