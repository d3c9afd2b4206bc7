import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type ResourceClient, RpcError, type RsvpClient } from "../../src/client/grpc-client.js";
import {
  type ReservationConflict,
  ReservationConflictSchema,
  ReservationService,
} from "../../src/gen/reservation/reservation_pb.js";
import { ResourceService } from "../../src/gen/reservation/resource_pb.js";

type Svc = typeof ReservationService.method;
type In<K extends keyof Svc> = MessageInitShape<Svc[K]["input"]>;
type Out<K extends keyof Svc> = MessageShape<Svc[K]["output"]>;
type Unary =
  | "reserve"
  | "confirm"
  | "update"
  | "cancel"
  | "get"
  | "filter"
  | "available"
  | "reserveAll"
  | "reserveSeries"
  | "checkIn";

type Catalog = typeof ResourceService.method;
type CatalogRpc = keyof Catalog;

/** One caller of the resource catalog over one transport. */
export type ResourceCaller = { readonly transport: string } & {
  [K in CatalogRpc]: (
    req: MessageInitShape<Catalog[K]["input"]>,
  ) => Promise<MessageShape<Catalog[K]["output"]>>;
};

/** Per-call options of a caller: a deadline keeps a call that hangs from hanging the test. */
export interface CallerOptions {
  readonly timeoutMs?: number;
  /** The transport's name in messages (default "grpc" or "connect"). */
  readonly name?: string;
}

/** One caller of the service over one transport, with one token (or none). */
export type Caller = { readonly transport: string } & {
  [K in Unary]: (req: In<K>) => Promise<Out<K>>;
} & {
  /** The whole `query` stream. */
  query(req: In<"query">): Promise<Out<"query">[]>;
  /** The first `n` events of a `listen` stream, then the stream is closed (or when `signal` aborts). */
  listen(req: In<"listen">, n?: number, signal?: AbortSignal): Promise<Out<"listen">[]>;
};

/** A failed call, the same on every transport (the codes are gRPC's on all of them). */
export interface Failure {
  readonly code: number;
  readonly message: string;
  readonly conflict?: ReservationConflict | undefined;
}

/** How `p` failed, or undefined when it succeeded. Anything but an rpc failure is rethrown. */
export async function failureOf(p: Promise<unknown>): Promise<Failure | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof RpcError) {
      return { code: err.code, message: err.message, conflict: err.conflict };
    }
    if (err instanceof ConnectError) {
      const [conflict] = err.findDetails(ReservationConflictSchema);
      return { code: err.code, message: err.rawMessage, conflict };
    }
    throw err;
  }
}

async function firstEvents<T>(
  stream: AsyncIterable<T>,
  n: number,
  stop: () => void,
  signal: AbortSignal | undefined,
) {
  const events: T[] = [];
  signal?.addEventListener("abort", stop);
  try {
    for await (const e of stream) {
      events.push(e);
      if (events.length >= n) break;
    }
  } finally {
    stop();
  }
  return events;
}

async function all<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

/** A caller over native gRPC, sending `token` as metadata. */
export function grpcCaller(client: RsvpClient, token?: string, o: CallerOptions = {}): Caller {
  const opts = {
    ...(token ? { metadata: { authorization: `Bearer ${token}` } } : {}),
    deadlineMs: o.timeoutMs,
  };
  return {
    transport: o.name ?? "grpc",
    reserve: (req) => client.reserve(req, opts),
    confirm: (req) => client.confirm(req, opts),
    update: (req) => client.update(req, opts),
    cancel: (req) => client.cancel(req, opts),
    get: (req) => client.get(req, opts),
    filter: (req) => client.filter(req, opts),
    available: (req) => client.available(req, opts),
    reserveAll: (req) => client.reserveAll(req, opts),
    reserveSeries: (req) => client.reserveSeries(req, opts),
    checkIn: (req) => client.checkIn(req, opts),
    query: (req) => all(client.query(req, opts)),
    listen(req, n = 1, signal) {
      const stream = client.listen(req, opts);
      return firstEvents(stream, n, () => stream.cancel(), signal);
    },
  };
}

/** A Connect transport to the HTTP port at `address` (HTTP/1.1 unless told otherwise). */
export function connectTransport(address: string, extra: object = {}): Transport {
  return createConnectTransport({ baseUrl: `http://${address}`, httpVersion: "1.1", ...extra });
}

/** A caller over Connect, sending `token` as the authorization header. */
export function connectCaller(transport: Transport, token?: string, o: CallerOptions = {}): Caller {
  const client = createClient(ReservationService, transport);
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  const opts = () => ({ headers, timeoutMs: o.timeoutMs });
  return {
    transport: o.name ?? "connect",
    reserve: (req) => client.reserve(req, opts()),
    confirm: (req) => client.confirm(req, opts()),
    update: (req) => client.update(req, opts()),
    cancel: (req) => client.cancel(req, opts()),
    get: (req) => client.get(req, opts()),
    filter: (req) => client.filter(req, opts()),
    available: (req) => client.available(req, opts()),
    reserveAll: (req) => client.reserveAll(req, opts()),
    reserveSeries: (req) => client.reserveSeries(req, opts()),
    checkIn: (req) => client.checkIn(req, opts()),
    query: (req) => all(client.query(req, opts())),
    listen(req, n = 1, signal) {
      const abort = new AbortController();
      const stream = client.listen(req, { ...opts(), signal: abort.signal });
      return firstEvents(stream, n, () => abort.abort(), signal);
    },
  };
}

/** A caller of the resource catalog over native gRPC, sending `token` as metadata. */
export function grpcResourceCaller(
  client: ResourceClient,
  token?: string,
  o: CallerOptions = {},
): ResourceCaller {
  const opts = {
    ...(token ? { metadata: { authorization: `Bearer ${token}` } } : {}),
    deadlineMs: o.timeoutMs,
  };
  return {
    transport: o.name ?? "grpc",
    putResource: (req) => client.putResource(req, opts),
    getResource: (req) => client.getResource(req, opts),
    listResources: (req) => client.listResources(req, opts),
    deleteResource: (req) => client.deleteResource(req, opts),
  };
}

/** A caller of the resource catalog over a Connect transport. */
export function connectResourceCaller(
  transport: Transport,
  token?: string,
  o: CallerOptions = {},
): ResourceCaller {
  const client = createClient(ResourceService, transport);
  const opts = () => ({
    headers: token ? { authorization: `Bearer ${token}` } : undefined,
    timeoutMs: o.timeoutMs,
  });
  return {
    transport: o.name ?? "connect",
    putResource: (req) => client.putResource(req, opts()),
    getResource: (req) => client.getResource(req, opts()),
    listResources: (req) => client.listResources(req, opts()),
    deleteResource: (req) => client.deleteResource(req, opts()),
  };
}
