import {
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { invalidArgument } from "../domain/errors.js";

// The gRPC codec shared by the server's native transport and the client: protobuf-es
// messages on grpc-js, so both sides use one protobuf runtime.

/** A fresh encoding as a Buffer over the same memory: grpc-js copies it into its frame anyway. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function serializer<T extends DescMessage>(schema: T) {
  return (msg: MessageShape<T>) => asBuffer(toBinary(schema, msg));
}

/** Messages sent as the same object on many calls: encoded once, on first use. */
const shared = new WeakSet<object>();
const encodings = new WeakMap<object, Buffer>();

/**
 * Marks `msg` as one that many calls will send (a listen event goes to every listener as the
 * same object): the native transport then encodes it once instead of once per call, which
 * was a seventh of the time with 100 listeners open. Other messages (a query's rows) are
 * encoded as they come, without the cost of remembering them.
 */
export function sendsToMany<T extends object>(msg: T): T {
  shared.add(msg);
  return msg;
}

function streamSerializer<T extends DescMessage>(schema: T) {
  return (msg: MessageShape<T>) => {
    if (!shared.has(msg)) return asBuffer(toBinary(schema, msg));
    let bytes = encodings.get(msg);
    if (!bytes) {
      bytes = asBuffer(toBinary(schema, msg));
      encodings.set(msg, bytes);
    }
    return bytes;
  };
}

function deserializer<T extends DescMessage>(schema: T) {
  return (buf: Buffer) => fromBinary(schema, buf);
}

/** A request that did not parse. grpc-js would answer INTERNAL; it is the caller's fault. */
class Unparseable {
  constructor(readonly typeName: string) {}
}

function requestDeserializer(schema: DescMessage) {
  return (buf: Buffer) => {
    try {
      return fromBinary(schema, buf);
    } catch {
      return new Unparseable(schema.typeName);
    }
  };
}

/** The request as parsed, or INVALID_ARGUMENT. */
export function parsed(req: unknown): unknown {
  if (req instanceof Unparseable) throw invalidArgument(`request is not a valid ${req.typeName}`);
  return req;
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
      requestDeserialize: requestDeserializer(m.input),
      responseSerialize: (m.methodKind === "unary"
        ? serializer(m.output)
        : streamSerializer(m.output)) as (v: unknown) => Buffer,
      responseDeserialize: deserializer(m.output),
    };
  }
  return def;
}
