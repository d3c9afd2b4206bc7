import { parseArgs } from "node:util";
/** How one `npm run bench` runs. */
export interface BenchOptions {
  readonly quick: boolean;
  /** The embedded database (PGlite, in memory) instead of a Postgres server. */
  readonly embedded: boolean;
  /** Rounds: every scenario runs once per round and the table shows the medians. */
  readonly repeats: number;
  /** Measured window of each load run. */
  readonly durationMs: number;
  /** Unmeasured lead-in of each load run (connections, JIT, caches). */
  readonly warmupMs: number;
  /** Row counts of the cost-growth rows; the query stream reads a tenth of the largest. */
  readonly sizes: readonly number[];
  /** The open-loop rates of reserve and get, as fractions of their closed-loop maximum. */
  readonly loads: readonly number[];
  /** Calls in flight in the closed-loop scenarios. */
  readonly concurrency: number;
  readonly listeners: number;
  /** Retained changes of the change feed's history rows. */
  readonly historyRows: number;
  /** Listeners of the fan-out row, each on a resource of its own. */
  readonly fanOutListeners: number;
  /** HTTP/2 connections the load generator spreads its calls over. */
  readonly channels: number;
  /** Write a V8 CPU profile of each service process. */
  readonly cpuProf: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--embedded] [--repeats N] [--duration SECONDS]
                        [--channels N] [--cpu-prof]
  --quick        short windows, smaller data sets, open loop at 50% only (under 2 minutes)
  --embedded     run the service on the embedded database (PGlite, memory://); no pgbench
  --repeats N    rounds per scenario; the table shows medians (default 3, quick 2)
  --duration S   measured seconds per load run (default 2, quick 0.8)
  --channels N   HTTP/2 connections of the load generator (default 2)
  --cpu-prof     write a V8 CPU profile of each service process (path printed at the end)`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

/** Parses the command line; throws with a message for a bad flag. */
export function parseOptions(argv: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      embedded: { type: "boolean", default: false },
      repeats: { type: "string" },
      duration: { type: "string" },
      channels: { type: "string" },
      "cpu-prof": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const quick = values.quick === true;
  const embedded = values.embedded === true;
  // Embedded data sets are built with reserve calls (no SQL access from outside the
  // service), at a few hundred per second: smaller ones.
  const sizes = embedded
    ? quick
      ? [1_000, 5_000]
      : [1_000, 10_000, 20_000]
    : quick
      ? [10_000, 50_000]
      : [10_000, 100_000, 1_000_000];
  return {
    quick,
    embedded,
    repeats: Math.round(positive("repeats", values.repeats, quick ? 2 : 3)),
    // Quick: 0.8 s still holds over a thousand calls at every rate measured (p99 of each run).
    durationMs: positive("duration", values.duration, quick ? 0.8 : 2) * 1000,
    warmupMs: quick ? 150 : 500,
    sizes,
    // Quick: only the rate that has a target (get's p99 at 50%).
    loads: quick ? [0.5] : [0.25, 0.5, 0.75],
    concurrency: 64,
    listeners: 100,
    historyRows: quick ? 100_000 : 1_000_000,
    fanOutListeners: quick ? 2_000 : 10_000,
    channels: Math.round(positive("channels", values.channels, 2)),
    cpuProf: values["cpu-prof"] === true,
  };
}
