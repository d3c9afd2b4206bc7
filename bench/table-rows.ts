import type { BenchOptions } from "./options.js";
import type { Recorder } from "./recorder.js";

/** One line of the table: medians over the repeats, and how they compare with a limit. */
export interface Row {
  readonly key: string;
  readonly scenario: string;
  readonly unit: string;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly limit?: string;
  /** rate ÷ the limit's rate (for latency-growth rows: ratio of p50s). */
  readonly ratio?: number;
  readonly target?: string;
  readonly met?: boolean;
  /**
   * Cores used meanwhile by the service, the load generators, the database, and everything
   * else on the machine (other tenants, pgbench, h2load).
   */
  readonly cores: {
    readonly svc?: number;
    readonly gen?: number;
    readonly db?: number;
    readonly other?: number;
  };
}

interface Spec {
  readonly key: string;
  readonly scenario: string;
  readonly unit?: string;
  readonly limitKey?: string;
  readonly limit?: string;
  readonly target?: string;
  /** Whether the target was met; undefined when it cannot be judged (its limit is missing). */
  readonly met?: (m: Measures) => boolean | undefined;
  /** Compare p50 latencies instead of rates (cost growth of reads). */
  readonly byLatency?: boolean;
}

interface Measures {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly ratio?: number;
}

const atLeast = (x: number) => (m: Measures) => (m.ratio === undefined ? undefined : m.ratio >= x);
const atMost = (x: number) => (m: Measures) => (m.ratio === undefined ? undefined : m.ratio <= x);

function specs(rec: Recorder, opts: BenchOptions): Spec[] {
  const [small] = opts.sizes;
  const logGrowth = (n: number) => Math.log(n) / Math.log(small ?? n);
  const growth = opts.sizes.flatMap((n, i): Spec[] => {
    const bound = logGrowth(n);
    const vs = (k: string) =>
      i === 0 || small === undefined
        ? {}
        : { limitKey: `${k}@${small}`, limit: `same at ${count(small)} rows` };
    const rateTarget =
      i === 0 ? {} : { target: `≥ ${(1 / bound).toFixed(2)}× (log)`, met: atLeast(1 / bound) };
    const latTarget = i === 0 ? {} : { target: `≤ ${bound.toFixed(2)}× (log)`, met: atMost(bound) };
    return [
      {
        key: `f-reserve@${n}`,
        scenario: `(f) reserve @ ${count(n)} rows`,
        ...vs("f-reserve"),
        ...rateTarget,
      },
      {
        key: `f-get@${n}`,
        scenario: `(f) get @ ${count(n)} rows`,
        byLatency: true,
        ...vs("f-get"),
        ...latTarget,
      },
      {
        key: `f-query@${n}`,
        scenario: `(f) query 10 rows @ ${count(n)}`,
        unit: "queries/s",
        byLatency: true,
        ...vs("f-query"),
        ...latTarget,
      },
    ];
  });
  // Embedded mode measures its DB limits on PGlite in the harness, one connection.
  const db = opts.embedded ? "PGlite" : "pgbench";
  const all: Spec[] = [
    { key: "t-h2load-bare", scenario: "empty rpc: h2load → bare node:http2" },
    {
      key: "t-loader-bare",
      scenario: `empty rpc: loader (${opts.client}) → bare`,
      limitKey: "t-h2load-bare",
      limit: "h2load → bare",
    },
    {
      key: "t-h2load-rsvp",
      scenario: "empty rpc: h2load → rsvp gRPC",
      limitKey: "t-h2load-bare",
      limit: "h2load → bare",
      target: "≥ 0.6×",
      met: atLeast(0.6),
    },
    {
      key: "t-loader-rsvp",
      scenario: `empty rpc: loader (${opts.client}) → rsvp`,
      limitKey: "t-h2load-rsvp",
      limit: "h2load → rsvp",
    },
    { key: "db-insert-bare", scenario: `${db} INSERT bare table` },
    {
      key: "db-insert-own",
      scenario: `${db} INSERT rsvp.reservations`,
      limitKey: "db-insert-bare",
      limit: `${db} bare`,
    },
    {
      key: "db-reserve",
      scenario: `${db} rsvp.reserve (1 row)`,
      limitKey: "db-insert-bare",
      limit: `${db} bare`,
    },
    {
      key: "a",
      scenario: `(a) reserve, ${opts.concurrency} in flight`,
      limitKey: "db-reserve",
      limit: `${db} reserve`,
      target: "≥ 1.0×",
      met: atLeast(1),
    },
    ...(rec.has("db-insert-bare")
      ? [
          {
            key: "a",
            scenario: "(a) stretch: vs bare table",
            limitKey: "db-insert-bare",
            limit: `${db} bare`,
            target: "≥ 1.0×",
            met: atLeast(1),
          },
        ]
      : []),
    {
      key: "b",
      scenario: "(b) reserve, contention",
      limitKey: "db-reserve",
      limit: `${db} reserve`,
    },
    {
      key: "c-max",
      scenario: `(c) get, ${opts.concurrency} in flight`,
      limitKey: "t-loader-rsvp",
      limit: "loader → rsvp",
    },
    {
      key: "c-half",
      scenario: "(c) get at 50% of max",
      limitKey: "c-max",
      limit: "(c) max",
      target: "p99 < 5 ms",
      met: (m) => m.p99 < 5,
    },
    {
      key: "d",
      scenario: `(d) query stream ${count(Math.max(...opts.sizes) / 10)} rows`,
      unit: "rows/s",
      limitKey: "d-db",
      limit: "one SELECT",
      target: "≥ 50k rows/s, 1st < 10 ms",
      met: (m) => m.rate >= 50_000 && m.p99 < 10,
    },
    { key: "d-db", scenario: `    ${db}: the same rows, one SELECT`, unit: "rows/s" },
    {
      key: "e",
      scenario: `(e) reserve + ${opts.listeners} listeners`,
      unit: "reserve/s",
      limitKey: "a",
      limit: "(a)",
      target: "p99 < 50 ms",
      met: (m) => m.p99 < 50,
    },
    ...growth,
  ];
  return all.filter((s) => rec.has(s.key));
}

const count = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

/** The table's rows from what was recorded. */
export function buildRows(rec: Recorder, opts: BenchOptions): Row[] {
  return specs(rec, opts).map((s) => {
    const m = rec.median(s.key);
    // (d): p50 is the median first-row latency, p99 the worst of the repeats.
    const p99 = s.key === "d" ? Math.max(...rec.all("d").map((x) => x.p99)) : m.p99;
    const lim = s.limitKey && rec.has(s.limitKey) ? rec.median(s.limitKey) : undefined;
    const ratio = lim ? (s.byLatency ? m.p50 / lim.p50 : m.rate / lim.rate) : undefined;
    const unit = s.unit ?? "calls/s";
    const own = (["svc", "gen", "db"] as const).map((k) => [k, m[`cpu.${k}`]] as const);
    const known = own.reduce((sum, [, v]) => sum + (v ?? 0), 0);
    const all = m["cpu.all"];
    const cores = Object.fromEntries(
      [...own, ["other", all === undefined ? undefined : Math.max(0, all - known)] as const].filter(
        ([, v]) => v !== undefined && Number.isFinite(v),
      ),
    );
    return {
      key: s.key,
      scenario: s.scenario,
      unit,
      rate: m.rate,
      p50: m.p50,
      p99,
      cores,
      ...(lim ? { limit: s.limit, ratio } : {}),
      ...(s.target ? { target: s.target } : {}),
      ...(s.met
        ? {
            met: s.met({
              rate: m.rate,
              p50: m.p50,
              p99,
              ...(ratio === undefined ? {} : { ratio }),
            }),
          }
        : {}),
    };
  });
}
