import {
  create,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { type Code, codeOf } from "../domain/errors.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import {
  type ReservationConflict,
  ReservationConflictSchema,
  ReservationService,
} from "../gen/reservation/reservation_pb.js";
import { ResourceService } from "../gen/reservation/resource_pb.js";
import { WebhookService } from "../gen/reservation/webhook_pb.js";
import { grpcServiceDefinition } from "../protocol/grpc-codec.js";

/**
 * A failed call: its status code (the service's Code, numbered as gRPC's status), its message
 * and any ReservationConflict detail.
 */
export class RpcError extends Error {
  override readonly name = "RpcError";
  constructor(
    readonly code: Code,
    message: string,
    readonly conflict?: ReservationConflict,
    /**
     * Whether the server itself sent this status (rather than grpc-js making it up for a
     * connection that failed or dropped): UNAVAILABLE from a server whose database is down
     * is not the same trouble as no server at all.
     */
    readonly answered = false,
  ) {
    super(message);
  }
}

function toRpcError(err: unknown, sawHeaders: boolean): unknown {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e?.code !== "number") return err;
  // A status grpc-js makes up itself has no metadata; a server's always has its content-type
  // (in a trailers-only response), or came after the response headers.
  const answered = sawHeaders || (e.metadata?.get("content-type").length ?? 0) > 0;
  let conflict: ReservationConflict | undefined;
  const [bin] = e.metadata?.get("grpc-status-details-bin") ?? [];
  if (bin instanceof Buffer) {
    for (const any of fromBinary(StatusSchema, bin).details) {
      conflict ??= anyUnpack(any, ReservationConflictSchema);
    }
  }
  return new RpcError(codeOf(e.code), e.details ?? e.message ?? "", conflict, answered);
}

/** Per-call options. */
export interface CallOptions {
  readonly deadlineMs?: number;
  readonly metadata?: Record<string, string>;
}

/**
 * A server stream: iterate it; `opened` resolves with the response headers once the server
 * has accepted the call (for `listen`: once the subscription is live; its `rsvp-cursor`
 * header says where it starts).
 */
export interface ServerStream<T> extends AsyncIterable<T> {
  readonly opened: Promise<Record<string, string>>;
  cancel(): void;
}

type Methods<S extends DescService> = S["method"];
type In<S extends DescService, K extends keyof Methods<S>> = MessageInitShape<
  Methods<S>[K]["input"]
>;
type Out<S extends DescService, K extends keyof Methods<S>> = MessageShape<Methods<S>[K]["output"]>;
type UnaryKeys<S extends DescService> = {
  [K in keyof Methods<S>]: Methods<S>[K]["methodKind"] extends "unary" ? K : never;
}[keyof Methods<S>];
type StreamKeys<S extends DescService> = Exclude<keyof Methods<S>, UnaryKeys<S>>;

/** A typed native-gRPC client of one service. */
export type ServiceClient<S extends DescService> = {
  [K in UnaryKeys<S>]: (req: In<S, K>, opts?: CallOptions) => Promise<Out<S, K>>;
} & {
  [K in StreamKeys<S>]: (req: In<S, K>, opts?: CallOptions) => ServerStream<Out<S, K>>;
} & { close(): void };

/** A typed native-gRPC client of rsvp's reservation service. */
export type RsvpClient = ServiceClient<typeof ReservationService>;

/** A typed native-gRPC client of rsvp's resource catalog. */
export type ResourceClient = ServiceClient<typeof ResourceService>;

function callArgs(opts: CallOptions | undefined) {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts?.metadata ?? {})) metadata.set(k, v);
  const options: grpc.CallOptions = opts?.deadlineMs
    ? { deadline: Date.now() + opts.deadlineMs }
    : {};
  return { metadata, options };
}

/** Connects to an rsvp server (`host:port`), plaintext unless credentials are given. */
export function createRsvpClient(
  address: string,
  credentials = grpc.credentials.createInsecure(),
  channelOptions: grpc.ChannelOptions = {},
): RsvpClient {
  return createServiceClient(ReservationService, address, credentials, channelOptions);
}

/** Connects to the resource catalog of an rsvp server (`host:port`). */
export function createResourceClient(
  address: string,
  credentials = grpc.credentials.createInsecure(),
  channelOptions: grpc.ChannelOptions = {},
): ResourceClient {
  return createServiceClient(ResourceService, address, credentials, channelOptions);
}

/** A client of an rsvp server's webhooks. */
export type WebhookClient = ServiceClient<typeof WebhookService>;

/** Connects to the webhooks of an rsvp server (`host:port`). */
export function createWebhookClient(
  address: string,
  credentials = grpc.credentials.createInsecure(),
  channelOptions: grpc.ChannelOptions = {},
): WebhookClient {
  return createServiceClient(WebhookService, address, credentials, channelOptions);
}

/** A typed client of any of rsvp's services. */
export function createServiceClient<S extends DescService>(
  service: S,
  address: string,
  credentials = grpc.credentials.createInsecure(),
  channelOptions: grpc.ChannelOptions = {},
): ServiceClient<S> {
  const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.name);
  const raw = new Ctor(address, credentials, channelOptions) as unknown as Record<
    string,
    (...args: unknown[]) => unknown
  >;
  const client: Record<string, unknown> = { close: () => (raw as unknown as grpc.Client).close() };
  for (const m of service.methods) {
    const input = m.input as DescMessage;
    const fn = raw[m.localName]?.bind(raw);
    if (!fn) continue;
    if (m.methodKind === "unary") {
      client[m.localName] = (req: Record<string, unknown>, opts?: CallOptions) => {
        const { metadata, options } = callArgs(opts);
        return new Promise((resolve, reject) => {
          let sawHeaders = false;
          const call = fn(
            create(input, req as never),
            metadata,
            options,
            (err: unknown, res: unknown) =>
              err ? reject(toRpcError(err, sawHeaders)) : resolve(res),
          ) as grpc.ClientUnaryCall;
          call.once("metadata", () => {
            sawHeaders = true;
          });
        });
      };
    } else {
      client[m.localName] = (req: Record<string, unknown>, opts?: CallOptions) => {
        const { metadata, options } = callArgs(opts);
        const call = fn(
          create(input, req as never),
          metadata,
          options,
        ) as grpc.ClientReadableStream<unknown>;
        let sawHeaders = false;
        const opened = new Promise<Record<string, string>>((resolve, reject) => {
          call.once("metadata", (metadata: grpc.Metadata) => {
            sawHeaders = true;
            const headers: Record<string, string> = {};
            for (const [key, value] of Object.entries(metadata.getMap())) {
              if (typeof value === "string") headers[key] = value;
            }
            resolve(headers);
          });
          call.once("error", (err) => reject(toRpcError(err, sawHeaders)));
        });
        opened.catch(() => {});
        return {
          opened,
          cancel: () => call.cancel(),
          async *[Symbol.asyncIterator]() {
            try {
              for await (const msg of call) yield msg;
            } catch (err) {
              throw toRpcError(err, sawHeaders);
            }
          },
        };
      };
    }
  }
  return client as ServiceClient<S>;
}
