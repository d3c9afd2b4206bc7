import { setTimeout as sleep } from "node:timers/promises";
import { ReservationService, ReservationStatus } from "../src/gen/reservation/reservation_pb.js";
import { ResourceService } from "../src/gen/reservation/resource_pb.js";
import { H2GrpcChannel } from "./h2-client.js";
import { histogram, percentiles } from "./recorder.js";
import {
  EPOCH_SECONDS,
  SEED_RESOURCES,
  seedRow,
  type UnaryOp,
  type UnaryResult,
  type UnaryTask,
} from "./tasks.js";

// A clash is an exact answer, not a failure: contention runs count it as served.
const ALREADY_EXISTS = "6";

const codeOf = (err: unknown) => String((err as { code?: unknown })?.code ?? "unknown");
const hourTs = (h: number) => ({ seconds: BigInt(EPOCH_SECONDS + h * 3600), nanos: 0 });
const pick = (n: number) => Math.floor(Math.random() * n);
const m = ReservationService.method;

/**
 * Call `n` of a run, on one of the channels; resolves to the ids of the reservations it made.
 * The load generator speaks gRPC over bare node:http2 (see h2-client.ts): it costs far less
 * CPU per call than a full client, which leaves the shared cores to the service.
 */
function callOf(op: UnaryOp, at: (n: number) => H2GrpcChannel) {
  const reservation = (resourceId: string, from: number, hours: number) => ({
    userId: "bench",
    resourceId,
    status: ReservationStatus.PENDING,
    start: hourTs(from),
    end: hourTs(from + hours),
  });
  const reserve = async (n: number, resourceId: string, from: number, hours: number, pool = "") => {
    const request = { reservation: reservation(resourceId, from, hours), pool };
    return (await at(n).unary(ReservationService, m.reserve, request)).reservation?.id;
  };
  switch (op.op) {
    case "empty": {
      const empty = new Uint8Array();
      return async (n: number) => {
        await at(n).call("/grpc.health.v1.Health/Check", empty);
        return undefined;
      };
    }
    case "reserve": {
      const { spread } = op;
      return spread
        ? (n: number) => reserve(n, `${op.prefix}-${n % spread}`, Math.floor(n / spread), 1)
        : (n: number) => reserve(n, `${op.prefix}-${n}`, 0, 1);
    }
    case "pool":
      return (n: number) =>
        reserve(n, "", Math.floor(n / op.pools), 1, `${op.prefix}-${n % op.pools}`);
    case "register":
      return async (n: number) => {
        const pool = `${op.prefix}-${Math.floor(n / op.size)}`;
        const resource = { id: `${pool}-${n % op.size}`, pool, capacity: op.capacity ?? 0 };
        await at(n).unary(ResourceService, ResourceService.method.putResource, { resource });
        return undefined;
      };
    case "counted":
      return (n: number) =>
        reserve(
          n,
          `${op.prefix}-0-${n % op.resources}`,
          Math.floor(n / (op.resources * op.perHour)),
          1,
        );
    case "group":
      return async (n: number) => {
        const items = Array.from({ length: op.items }, (_, i) => ({
          reservation: reservation(`${op.prefix}-${n}-${i}`, 0, 1),
        }));
        const r = await at(n).unary(ReservationService, m.reserveAll, { items });
        return r.reservations.map((x) => x.id);
      };
    case "contend":
      return (n: number) =>
        reserve(n, `${op.prefix}-${pick(op.resources)}`, pick(op.hours), 1 + pick(3));
    case "seed":
      return (n: number) => {
        const row = seedRow(op.from + n);
        return reserve(n, row.resourceId, row.hour, 1);
      };
    case "get":
      return async (n: number) => {
        await at(n).unary(ReservationService, m.get, { id: op.ids[pick(op.ids.length)] ?? "" });
        return undefined;
      };
    case "query-small": {
      const perResource = Math.floor(op.rows / SEED_RESOURCES);
      return async (n: number) => {
        const from = pick(Math.max(1, perResource - op.span));
        await at(n).drain(ReservationService, m.query, {
          resourceId: `s-${pick(SEED_RESOURCES)}`,
          start: hourTs(from),
          end: hourTs(from + op.span),
        });
        return undefined;
      };
    }
  }
}

/**
 * Runs one load: a warm-up, then a measured window. Closed loop keeps `concurrency` calls in
 * flight. Open loop starts `rate` calls per second on a fixed schedule, however many are still
 * in flight, and times each from its scheduled start: a stall shows up as latency, never as
 * calls quietly not made (no coordinated omission).
 */
export async function runUnary(task: UnaryTask): Promise<UnaryResult> {
  const conns = Array.from({ length: task.channels }, () => new H2GrpcChannel(task.target));
  const call = callOf(task.call, (n) => conns[n % conns.length] as H2GrpcChannel);
  const lat = histogram();
  const errors: Record<string, number> = {};
  const ids: string[] = [];
  const limit = task.count ?? Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  const from = task.count === undefined ? t0 + task.warmupMs : t0;
  const until = task.count === undefined ? from + task.durationMs : Number.POSITIVE_INFINITY;
  let n = 0;
  let ok = 0;
  let served = 0;
  // Open loop times every call scheduled in the window, however late it ends; closed loop the
  // calls that end in it.
  const timed = (startedAt: number, done: number) =>
    task.rate === undefined
      ? done >= from && done <= until
      : startedAt >= from && startedAt < until;

  const one = async (startedAt: number) => {
    let answered = true;
    try {
      const made = await call(n++);
      ok++;
      if (made !== undefined && task.collectIds) ids.push(...[made].flat());
    } catch (err) {
      const code = codeOf(err);
      errors[code] = (errors[code] ?? 0) + 1;
      answered = code === ALREADY_EXISTS;
    }
    const done = performance.now();
    if (!answered) return;
    if (done >= from && done <= until) served++;
    if (timed(startedAt, done)) lat.recordValue(Math.round((done - startedAt) * 1000));
  };

  try {
    if (task.rate === undefined) {
      const worker = async () => {
        while (n < limit && performance.now() < until) await one(performance.now());
      };
      await Promise.all(Array.from({ length: task.concurrency }, worker));
    } else {
      const interval = 1000 / task.rate;
      const inFlight = new Set<Promise<void>>();
      let k = 0;
      for (let now = t0; now < until; now = performance.now()) {
        for (const due = Math.floor((now - t0) / interval); k < due; k++) {
          const p = one(t0 + k * interval).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        await sleep(1);
      }
      await Promise.all(inFlight);
    }
  } finally {
    for (const c of conns) c.close();
  }
  const seconds = (Math.min(performance.now(), until) - from) / 1000;
  return {
    ok,
    errors,
    seconds,
    rate: served / seconds,
    ...percentiles(lat),
    ...(task.collectIds ? { ids } : {}),
  };
}
