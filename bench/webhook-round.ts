import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createRsvpClient, createWebhookClient } from "../src/client/grpc-client.js";
import { isoToMicros } from "../src/domain/time.js";
import { type Ctx, checkNoFailures, runLoad, sampleOf, unaryTask } from "./context.js";
import { machineCpu, processCpu, withCpu } from "./cpu.js";
import { histogram, percentiles } from "./recorder.js";
import type { Spec } from "./table.js";
import type { UnaryResult } from "./tasks.js";

/** Reservations made one by one on an idle server for the latency row. */
const LATENCY_EVENTS = 200;
/** The pause between them: an idle server, one change at a time. */
const LATENCY_GAP_MS = 20;
/** How long the receiver may take to get a backlog before the round fails its check. */
const DRAIN_TIMEOUT_MS = 120_000;

/** One delivery as the receiver saw it. */
interface Arrival {
  readonly atUs: number;
  readonly committedUs: number;
  readonly reservationId: string;
  /** From `webhook-id` (`msg_<xid>_<seq>`): the change's position in the feed. */
  readonly xid: bigint;
  readonly seq: bigint;
}

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

/** A local receiver answering 204 to each POST once `gate` lets it, recording arrivals. */
async function startReceiver() {
  const arrivals: Arrival[] = [];
  let gate = Promise.resolve();
  let waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const atUs = nowUs();
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        timestamp: string;
        data: { reservation: { id: string } };
      };
      const [, xid = "0", seq = "0"] =
        /^msg_(\d+)_(\d+)$/.exec(String(req.headers["webhook-id"])) ?? [];
      arrivals.push({
        atUs,
        committedUs: Number(isoToMicros(body.timestamp) ?? 0n),
        reservationId: body.data.reservation.id,
        xid: BigInt(xid),
        seq: BigInt(seq),
      });
      for (const w of waiters) w();
      waiters = [];
      void gate.then(() => res.writeHead(204).end());
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    /** Answers nothing until the returned function is called. */
    hold(): () => void {
      let open = () => {};
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      return open;
    },
    /** Resolves once `n` deliveries arrived, or rejects after `ms`. */
    async until(n: number, ms: number): Promise<void> {
      const deadline = Date.now() + ms;
      while (arrivals.length < n) {
        if (Date.now() > deadline) throw new Error(`${arrivals.length} of ${n} deliveries arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 1000).unref();
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every change delivered once and in feed order: positions strictly increasing. */
function inOrder(arrivals: readonly Arrival[]): boolean {
  return arrivals.every((a, i) => {
    const p = arrivals[i - 1];
    return !p || a.xid > p.xid || (a.xid === p.xid && a.seq > p.seq);
  });
}

/**
 * Webhooks fed by the change stream. `webhook-latency`: commit → receiver on an idle server,
 * one reservation at a time. `webhook-rate`: a backlog of reserves (written while the receiver
 * holds its first answer) delivered in order to one local receiver, from its release to the
 * last arrival, with the service's and database's CPU per delivery over that drain alone.
 */
export async function webhookRound(ctx: Ctx, prefix: string): Promise<void> {
  const receiver = await startReceiver();
  const hooks = createWebhookClient(ctx.service.address);
  const rsvp = createRsvpClient(ctx.service.address);
  const id = `${prefix}-hook`;
  try {
    await hooks.putWebhook({ webhook: { id, url: receiver.url } });

    const lat = histogram();
    const start = Date.UTC(2031, 0, 1);
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      const from = start + i * 3_600_000;
      await rsvp.reserve({
        reservation: {
          userId: "bench",
          resourceId: `${prefix}-lat`,
          start: timestampFromMs(from),
          end: timestampFromMs(from + 3_600_000),
        },
      });
      await receiver.until(i + 1, DRAIN_TIMEOUT_MS);
      await sleep(LATENCY_GAP_MS);
    }
    for (const a of receiver.arrivals) lat.recordValue(Math.max(0, a.atUs - a.committedUs));
    const { p50, p99 } = percentiles(lat);
    ctx.rec.add("webhook-latency", { rate: 1000 / LATENCY_GAP_MS, p50, p99 });
    ctx.rec.check(
      `webhook-latency ${prefix}: every change delivered once, in order`,
      receiver.arrivals.length === LATENCY_EVENTS && inOrder(receiver.arrivals),
      `${receiver.arrivals.length} of ${LATENCY_EVENTS}`,
    );

    // The backlog: the first of it is held unanswered while the rest is written.
    const before = receiver.arrivals.length;
    const release = receiver.hold();
    const [load] = await runLoad<UnaryResult>(
      ctx,
      unaryTask(ctx, { op: "reserve", prefix: `${prefix}-w` }, { collectIds: true }),
    );
    checkNoFailures(ctx, `webhook backlog ${prefix}`, load);
    await ctx.verify.afterRun(`webhook backlog ${prefix}`, load.ids ?? [], `${prefix}-w-`);
    const expected = before + (load.ids?.length ?? 0);
    await receiver.until(before + 1, DRAIN_TIMEOUT_MS);
    const t0 = nowUs();
    const [, cores] = await withCpu(
      [
        processCpu("cpu.svc", ctx.service.pid),
        ...(ctx.dbCpu ? [ctx.dbCpu] : []),
        machineCpu("cpu.all"),
      ],
      async () => {
        release();
        await receiver.until(expected, DRAIN_TIMEOUT_MS);
      },
    );
    const drained = receiver.arrivals.slice(before);
    const last = drained.at(-1)?.atUs ?? t0;
    const rate = (drained.length - 1) / ((last - t0) / 1e6);
    ctx.rec.add(
      "webhook-rate",
      sampleOf({ rate, p50: Number.NaN, p99: Number.NaN }, cores, { events: drained.length }),
    );
    const acked = new Set(load.ids ?? []);
    ctx.rec.check(
      `webhook-rate ${prefix}: every acked reserve delivered once, in order`,
      drained.length === acked.size &&
        drained.every((a) => acked.has(a.reservationId)) &&
        new Set(drained.map((a) => a.reservationId)).size === acked.size &&
        inOrder(receiver.arrivals),
      `${drained.length} delivered for ${acked.size} acked reserves`,
    );
  } finally {
    await hooks.deleteWebhook({ id }).catch(() => {});
    rsvp.close();
    hooks.close();
    await receiver.close();
  }
}

/** The webhook rows of the table. */
export function webhookSpecs(): Spec[] {
  return [
    {
      key: "webhook-latency",
      scenario: `webhook: commit → receiver, idle server, a reserve every ${LATENCY_GAP_MS} ms`,
      unit: "event",
      target: "p50 < 50 ms",
      met: (r) => (Number.isFinite(r.p50) ? r.p50 < 50 : undefined),
    },
    {
      key: "webhook-rate",
      scenario: "webhook: a backlog delivered in order to one local receiver",
      unit: "event",
      target: "≥ 1,000/s",
      met: (r) => (Number.isFinite(r.rate) ? r.rate >= 1000 : undefined),
    },
  ];
}
