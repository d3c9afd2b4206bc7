import { COUNTED_CAPACITY, COUNTED_PER_HOUR, COUNTED_RESOURCES } from "./counted-round.js";
import { FAN_OUT_RATE, FEED_LISTENERS, FEED_RATE } from "./feed-phase.js";
import type { BenchOptions } from "./options.js";
import type { Recorder } from "./recorder.js";
import { GROUP_ITEMS, POOL_SIZE } from "./tasks.js";
import { webhookSpecs } from "./webhook-round.js";

/** One row of the table: medians over the repeats, and how they compare with a limit. */
export interface Row {
  /** Stable across runs and versions: what docs/benchmark.md and latest.json refer to. */
  readonly key: string;
  readonly scenario: string;
  /** What one operation is (a call, a row, an event): rate and CPU are per operation. */
  readonly unit: string;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU µs per operation of the service and the database together. */
  readonly cpuUsPerOp: number;
  /** CPU µs per operation of the load generator(s), apart. */
  readonly genUsPerOp?: number;
  readonly limitKey?: string;
  /** What `ratio` compares with the limit row: rates, CPU per operation, or p50 latency. */
  readonly by?: By;
  readonly ratio?: number;
  readonly target?: string;
  /** Whether the target was met; absent when it cannot be judged (its limit is missing). */
  readonly met?: boolean;
}

type By = "rate" | "cpu" | "p50" | "p99";

/** How a row is judged: its samples, its limit, its target. */
export interface Spec {
  readonly key: string;
  readonly scenario: string;
  /** The samples to show, when another row's (default: `key`). */
  readonly of?: string;
  readonly unit?: string;
  readonly limitKey?: string;
  readonly by?: By;
  /**
   * A field each repeat records as its own ratio to the limit (measured in the same round):
   * the ratio is then the median of those, not the ratio of the two rows' medians.
   */
  readonly ratioOf?: string;
  readonly target?: string;
  readonly met?: (r: Omit<Row, "met">, sample: Record<string, number>) => boolean | undefined;
}

const atLeast = (x: number) => (r: { ratio?: number }) =>
  r.ratio === undefined ? undefined : r.ratio >= x;
const atMost = (x: number) => (r: { ratio?: number }) =>
  r.ratio === undefined ? undefined : r.ratio <= x;

export const count = (n: number) =>
  n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);

export const pct = (load: number) => `${Math.round(load * 100)}%`;

function specs(opts: BenchOptions): Spec[] {
  const db = opts.embedded ? "PGlite" : "pgbench";
  const [small] = opts.sizes;
  const openLoop = (op: "reserve" | "get", extra: (load: number) => Partial<Spec>) =>
    opts.loads.map(
      (load): Spec => ({
        key: `${op}@${pct(load)}`,
        scenario: `${op} at ${pct(load)} of max, open loop`,
        limitKey: op,
        ...extra(load),
      }),
    );
  const growth = opts.sizes.slice(1).flatMap((n): Spec[] => {
    // log(n) / log(smallest): what "grows at most logarithmically" allows.
    const bound = Math.log(n) / Math.log(small ?? n);
    const row = (op: string, what: string): Spec => ({
      key: `${op}@${count(n)}`,
      scenario: `${what} with ${count(n)} rows`,
      limitKey: `${op}@${count(small ?? n)}`,
      by: "cpu",
      target: `≤ ${bound.toFixed(2)}× (log)`,
      met: atMost(bound),
    });
    return [row("reserve", "reserve"), row("get", "get"), row("query10", "query 10 rows")];
  });
  const atSmall = (op: string, what: string): Spec => ({
    key: `${op}@${count(small ?? 0)}`,
    scenario: `${what} with ${count(small ?? 0)} rows`,
  });
  const streamed = count(Math.max(...opts.sizes) / 10);
  const feed = `listen: ${FEED_LISTENERS} listeners, reserve at ${FEED_RATE}/s`;
  const history = count(opts.historyRows);
  return [
    { key: "empty-bare", scenario: "empty rpc: h2load → bare node:http2" },
    { key: "empty-grpc", scenario: "empty rpc: h2load → plain grpc-js server, empty handler" },
    {
      key: "empty-rsvp",
      scenario: "empty rpc: h2load → rsvp",
      limitKey: "empty-bare",
      target: "≥ 0.5×",
      met: atLeast(0.5),
    },
    {
      key: "empty-rsvp-cpu",
      of: "empty-rsvp",
      scenario: "empty rpc: rsvp's CPU per call against plain grpc-js",
      limitKey: "empty-grpc",
      by: "cpu",
      target: "≤ 1.2×",
      met: atMost(1.2),
    },
    { key: "db-insert-bare", scenario: `${db}: INSERT 1 row, bare table`, unit: "row" },
    {
      key: "db-insert-own",
      scenario: `${db}: INSERT 1 row, rsvp.reservations`,
      unit: "row",
      limitKey: "db-insert-bare",
    },
    {
      key: "db-reserve",
      scenario: `${db}: rsvp.reserve, 1 row`,
      unit: "row",
      limitKey: "db-insert-bare",
    },
    opts.embedded
      ? {
          key: "reserve",
          scenario: `reserve, ${opts.concurrency} in flight`,
          limitKey: "db-insert-own",
          target: "≥ 0.7×",
          met: atLeast(0.7),
        }
      : {
          key: "reserve",
          scenario: `reserve, ${opts.concurrency} in flight`,
          limitKey: "db-insert-own",
          target: "≥ 1.0×",
          met: atLeast(1),
        },
    {
      key: "reserve-cpu",
      of: "reserve",
      scenario: "reserve: CPU per reservation",
      limitKey: "db-insert-bare",
      by: "cpu",
      target: "≤ 2× (stretch 1×)",
      met: atMost(2),
    },
    ...openLoop("reserve", () => ({})),
    // Plain and pool reserves share batches of up to 64 requests in one transaction; a pool
    // reserve also reads and locks its pool's members. A group reserve is a transaction of its
    // own that also reads and locks every candidate. Compared by CPU, which holds still on
    // shared cores where rates do not; pool and counted reserve with the plain reserve of
    // their own round.
    {
      key: "pool",
      scenario: `pool reserve, pools of ${POOL_SIZE}, ${opts.concurrency} in flight`,
      limitKey: "reserve",
      by: "cpu",
      ratioOf: "cpuVsPlain",
      target: "≤ 1.5×",
      met: atMost(1.5),
    },
    {
      key: "counted",
      scenario: `reserve of a counted resource (capacity ${COUNTED_CAPACITY}), ${COUNTED_RESOURCES} of them, ${opts.concurrency} in flight, ${COUNTED_PER_HOUR} calls per resource-hour`,
      limitKey: "reserve",
      by: "cpu",
      ratioOf: "cpuVsPlain",
      target: "≤ 1.5×",
      met: atMost(1.5),
    },
    {
      key: "group",
      scenario: `group reserve: reserveAll of ${GROUP_ITEMS}, ${opts.concurrency} in flight`,
      unit: "reservation",
      limitKey: "reserve",
      by: "cpu",
      target: "≤ 2×",
      met: atMost(2),
    },
    { key: "contend", scenario: "reserve, 4 resources, mostly clashes", limitKey: "db-reserve" },
    { key: "get", scenario: `get, ${opts.concurrency} in flight`, limitKey: "empty-rsvp" },
    ...openLoop("get", (load) =>
      load === 0.5 ? { target: "p99 < 5 ms", met: (r) => r.p99 < 5 } : {},
    ),
    {
      key: "listen@max",
      scenario: `listen: ${opts.listeners} listeners, reserve flat out: the events/s it delivers is its maximum`,
      unit: "event",
    },
    {
      key: "listen@50%",
      scenario: `listen: ${opts.listeners} listeners, reserve at 50% of the events it can deliver`,
      unit: "event",
      target: "p99 < 50 ms",
      met: (r) => r.p99 < 50,
    },
    {
      key: "listen@50%r",
      scenario: `listen: ${opts.listeners} listeners, reserve at 50% of plain reserve's max`,
      unit: "event",
      target: "p99 < 50 ms",
      met: (r) => r.p99 < 50,
    },
    ...webhookSpecs(),
    { key: "feed-empty", scenario: `${feed}, empty change log`, unit: "event" },
    {
      key: "feed-foreign",
      scenario: `${feed}, a foreign write open all round here and in another database`,
      unit: "event",
      limitKey: "feed-empty",
      by: "p99",
      target: "p99 ≤ 1.5×",
      met: atMost(1.5),
    },
    {
      key: "feed-history",
      scenario: `${feed}, ${history} retained changes`,
      unit: "event",
      limitKey: "feed-empty",
      by: "p50",
      target: "p50 ≤ 1.2×",
      met: atMost(1.2),
    },
    {
      key: "idle-empty",
      scenario: `idle service, ${FEED_LISTENERS} listeners open: database CPU µs per s`,
      unit: "second",
    },
    {
      key: "idle-history",
      scenario: `the same with ${history} retained changes`,
      unit: "second",
      limitKey: "idle-empty",
      by: "cpu",
      // Idle figures are a few ms per second: noise of 0.1% of a core is not growth.
      target: "≤ 1.2× or +< 1000 µs/s",
      met: (r) =>
        r.ratio === undefined || !Number.isFinite(r.ratio)
          ? undefined
          : r.ratio <= 1.2 || r.cpuUsPerOp - r.cpuUsPerOp / r.ratio < 1000,
    },
    {
      key: "feed-fanout",
      scenario: `listen: ${count(opts.fanOutListeners)} listeners on a resource each, reserve at ${FAN_OUT_RATE}/s`,
      unit: "event",
      target: "p99 < 100 ms",
      met: (r) => r.p99 < 100,
    },
    {
      key: "query-stream",
      scenario: `query stream of ${streamed} rows (latency: first row)`,
      unit: "row",
      limitKey: "query-select",
      target: "≥ 0.25× (stretch 0.5×), 1st row < 10 ms, RSS +< 16 MiB",
      met: (r, s) =>
        r.ratio === undefined
          ? undefined
          : r.ratio >= 0.25 && r.p99 < 10 && (s.rssGrowthMiB ?? Number.NaN) < 16,
    },
    { key: "query-select", scenario: `${db}: the same ${streamed} rows, one SELECT`, unit: "row" },
    atSmall("reserve", "reserve"),
    atSmall("get", "get"),
    atSmall("query10", "query 10 rows"),
    ...growth,
  ];
}

/** The table's rows from what was recorded. */
export function buildRows(rec: Recorder, opts: BenchOptions): Row[] {
  return specs(opts)
    .filter((s) => rec.has(s.of ?? s.key))
    .map((s) => {
      const m = rec.median(s.of ?? s.key);
      const lim = s.limitKey && rec.has(s.limitKey) ? rec.median(s.limitKey) : undefined;
      const by = s.by ?? "rate";
      const field = by === "cpu" ? "cpuUs" : by;
      const ratio = !lim
        ? undefined
        : s.ratioOf !== undefined
          ? (m[s.ratioOf] ?? Number.NaN)
          : (m[field] ?? Number.NaN) / (lim[field] ?? Number.NaN);
      const row = {
        key: s.key,
        scenario: s.scenario,
        unit: s.unit ?? "call",
        rate: m.rate,
        p50: m.p50,
        p99: m.p99,
        cpuUsPerOp: m.cpuUs ?? Number.NaN,
        ...(m.genUs === undefined ? {} : { genUsPerOp: m.genUs }),
        ...(s.limitKey ? { limitKey: s.limitKey, by } : {}),
        ...(ratio === undefined ? {} : { ratio }),
        ...(s.target ? { target: s.target } : {}),
      };
      const met = s.met?.(row, m);
      return met === undefined ? row : { ...row, met };
    });
}
