import * as grpc from "@grpc/grpc-js";
import { createRsvpClient, type RsvpClient } from "../src/client/grpc-client.js";
import { ReservationService, ReservationStatus } from "../src/gen/reservation/reservation_pb.js";
import { H2GrpcChannel } from "./h2-client.js";
import { type ClientKind, EPOCH_SECONDS, SEED_RESOURCES, seedRow, type UnaryOp } from "./tasks.js";

/** One call of a load run; resolves to the id of the reservation it made, if any. */
export type Call = (n: number) => Promise<string | undefined>;

/** The calls of one run, spread over channels, and how to close them. */
export interface Caller {
  readonly call: Call;
  close(): void;
}

// grpc-js shares one connection among clients with equal options unless each keeps its own
// subchannel pool: this is what makes `channels` mean separate HTTP/2 connections.
const OWN_CONNECTION: grpc.ChannelOptions = { "grpc.use_local_subchannel_pool": 1 };

const hourTs = (h: number) => ({ seconds: BigInt(EPOCH_SECONDS + h * 3600), nanos: 0 });
const pick = (n: number) => Math.floor(Math.random() * n);

function roundRobin<C>(clients: C[]): (n: number) => C {
  return (n) => clients[n % clients.length] as C;
}

function emptyCaller(target: string, channels: number): Caller {
  const clients = Array.from(
    { length: channels },
    () => new grpc.Client(target, grpc.credentials.createInsecure(), OWN_CONNECTION),
  );
  const next = roundRobin(clients);
  const empty = Buffer.alloc(0);
  const same = (b: Buffer) => b;
  return {
    call: (n) =>
      new Promise((resolve, reject) => {
        next(n).makeUnaryRequest("/grpc.health.v1.Health/Check", same, same, empty, (err) =>
          err ? reject(err) : resolve(undefined),
        );
      }),
    close: () => {
      for (const c of clients) c.close();
    },
  };
}

/** The three rsvp calls a load run makes, whatever client carries them. */
interface Api {
  reserve(resourceId: string, from: number, hours: number): Promise<string | undefined>;
  get(id: string): Promise<void>;
  query(resourceId: string, from: number, hours: number): Promise<void>;
}

const reserveRequest = (resourceId: string, from: number, hours: number) => ({
  reservation: {
    userId: "bench",
    resourceId,
    status: ReservationStatus.PENDING,
    start: hourTs(from),
    end: hourTs(from + hours),
  },
});

const queryRequest = (resourceId: string, from: number, hours: number) => ({
  resourceId,
  start: hourTs(from),
  end: hourTs(from + hours),
});

function grpcJsApi(client: RsvpClient): Api {
  return {
    reserve: async (r, from, hours) =>
      (await client.reserve(reserveRequest(r, from, hours))).reservation?.id,
    get: async (id) => {
      await client.get({ id });
    },
    query: async (r, from, hours) => {
      for await (const _row of client.query(queryRequest(r, from, hours))) {
        // Read to the end: the call is done when the stream is.
      }
    },
  };
}

function h2Api(channel: H2GrpcChannel): Api {
  const m = ReservationService.method;
  return {
    reserve: async (r, from, hours) =>
      (await channel.unary(ReservationService, m.reserve, reserveRequest(r, from, hours)))
        .reservation?.id,
    get: async (id) => {
      await channel.unary(ReservationService, m.get, { id });
    },
    query: async (r, from, hours) => {
      await channel.drain(ReservationService, m.query, queryRequest(r, from, hours));
    },
  };
}

function rsvpCall(op: Exclude<UnaryOp, { op: "empty" }>, api: (n: number) => Api): Call {
  switch (op.op) {
    case "reserve":
      return (n) => api(n).reserve(`${op.prefix}-${n}`, 0, 1);
    case "contend":
      return (n) =>
        api(n).reserve(`${op.prefix}-${pick(op.resources)}`, pick(op.hours), 1 + pick(3));
    case "seed":
      return (n) => {
        const row = seedRow(op.from + n);
        return api(n).reserve(row.resourceId, row.hour, 1);
      };
    case "get":
      return async (n) => {
        await api(n).get(op.ids[pick(op.ids.length)] ?? "");
        return undefined;
      };
    case "query-small": {
      const perResource = Math.floor(op.rows / SEED_RESOURCES);
      return async (n) => {
        const from = pick(Math.max(1, perResource - op.span));
        await api(n).query(`s-${pick(SEED_RESOURCES)}`, from, op.span);
        return undefined;
      };
    }
  }
}

/** Opens `channels` connections to `target` and builds the call `op` describes. */
export function makeCaller(
  target: string,
  op: UnaryOp,
  channels: number,
  client: ClientKind,
): Caller {
  if (client === "h2") {
    const conns = Array.from({ length: channels }, () => new H2GrpcChannel(target));
    const close = () => {
      for (const c of conns) c.close();
    };
    if (op.op === "empty") {
      const next = roundRobin(conns);
      const empty = new Uint8Array();
      return {
        call: async (n) => {
          await next(n).call("/grpc.health.v1.Health/Check", empty);
          return undefined;
        },
        close,
      };
    }
    return { call: rsvpCall(op, roundRobin(conns.map(h2Api))), close };
  }
  if (op.op === "empty") return emptyCaller(target, channels);
  const clients = Array.from({ length: channels }, () =>
    createRsvpClient(target, grpc.credentials.createInsecure(), OWN_CONNECTION),
  );
  return {
    call: rsvpCall(op, roundRobin(clients.map(grpcJsApi))),
    close: () => {
      for (const c of clients) c.close();
    },
  };
}
