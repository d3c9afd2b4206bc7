import { setTimeout as sleep } from "node:timers/promises";
import { h2load, limitStatements, type PgbenchRun, pgbench, pgbenchScript } from "./baselines.js";
import { type CpuSource, machineCpu, processCpu, withCpu } from "./cpu.js";
import type { Loader } from "./loader.js";
import type { BenchOptions } from "./options.js";
import type { Recorder, Sample } from "./recorder.js";
import type { RunningServer } from "./servers.js";
import type { ListenResult, Task, UnaryOp, UnaryResult, UnaryTask } from "./tasks.js";
import type { Verifier } from "./verifier.js";

/** What every scenario runs against. */
export interface Ctx {
  readonly opts: BenchOptions;
  readonly rec: Recorder;
  readonly loader: Loader;
  readonly service: RunningServer;
  readonly verify: Verifier;
  readonly workDir: string;
  /** The database's CPU, when its processes can be seen (a local cluster). */
  readonly dbCpu?: CpuSource;
  log(message: string): void;
}

const ALREADY_EXISTS = "6";

/** A load run of `call` against the service with the run's defaults. */
export function unaryTask(ctx: Ctx, call: UnaryOp, extra: Partial<UnaryTask> = {}): UnaryTask {
  const { opts } = ctx;
  return {
    kind: "unary",
    target: ctx.service.address,
    call,
    concurrency: opts.concurrency,
    durationMs: opts.durationMs,
    warmupMs: opts.warmupMs,
    channels: opts.channels,
    client: opts.client,
    ...extra,
  };
}

/** Long enough for a load run and the drain after it, short enough to catch a hang. */
export const runTimeout = (opts: BenchOptions) => opts.warmupMs + opts.durationMs + 60_000;

export const sampleOf = (r: { rate: number; p50: number; p99: number }, extra = {}): Sample => ({
  rate: r.rate,
  p50: r.p50,
  p99: r.p99,
  ...extra,
});

/**
 * Runs one task on a load generator and measures the cores used meanwhile by the server
 * (`svc`), the load generators (`gen`) and the database (`db`): on a 2-core machine they
 * share the CPU, and this shows who had it.
 */
export async function runLoad<T>(
  ctx: Ctx,
  task: Task,
  opts: { server?: RunningServer; alsoGen?: Loader } = {},
): Promise<[T, Record<string, number>]> {
  const loader = ctx.loader;
  const sources = [
    processCpu("cpu.svc", (opts.server ?? ctx.service).pid),
    processCpu("cpu.gen", loader.pid),
    ...(opts.alsoGen ? [processCpu("cpu.gen", opts.alsoGen.pid)] : []),
    ...(ctx.dbCpu && !opts.server ? [ctx.dbCpu] : []),
    machineCpu("cpu.all"),
  ];
  const timeout = task.kind === "unary" ? runTimeout(ctx.opts) : 600_000;
  return withCpu(sources, () => loader.run<T>(task, timeout));
}

/** Calls that failed with anything but a clash. */
function failures(r: UnaryResult): number {
  return Object.entries(r.errors).reduce(
    (n, [code, k]) => (code === ALREADY_EXISTS ? n : n + k),
    0,
  );
}

function checkNoFailures(ctx: Ctx, name: string, r: UnaryResult): void {
  const n = failures(r);
  ctx.rec.check(`${name}: no failed calls`, n === 0, `${n} failed: ${JSON.stringify(r.errors)}`);
}

/** Empty rpc: the service and the bare HTTP/2 server, each driven by h2load and the loader. */
export async function transportRound(
  ctx: Ctx,
  bare: RunningServer,
  h2loadBin: string | undefined,
): Promise<void> {
  const { opts, rec } = ctx;
  for (const [name, server] of [
    ["bare", bare],
    ["rsvp", ctx.service],
  ] as const) {
    if (h2loadBin) {
      // h2load's own CPU lands in "other".
      const [m, cpu] = await withCpu(
        [processCpu("cpu.svc", server.pid), machineCpu("cpu.all")],
        () => h2load(h2loadBin, server.address, opts.durationMs, opts.warmupMs, ctx.workDir),
      );
      rec.add(`t-h2load-${name}`, sampleOf(m, cpu));
    }
    const task = { ...unaryTask(ctx, { op: "empty" }), target: server.address };
    const [r, cpu] = await runLoad<UnaryResult>(ctx, task, { server });
    checkNoFailures(ctx, `empty rpc → ${name}`, r);
    rec.add(`t-loader-${name}`, sampleOf(r, cpu));
  }
}

/** The DB limits: pgbench with 16 clients on the service's own database. */
export async function dbRound(ctx: Ctx, bin: string, url: string): Promise<void> {
  const run: PgbenchRun = {
    clients: 16,
    threads: 2,
    seconds: Math.max(1, Math.round(ctx.opts.durationMs / 1000)),
  };
  const sql = limitStatements(":r::text");
  for (const [key, statement] of [
    ["db-reserve", sql.reserve],
    ["db-insert-own", sql.insertOwn],
    ["db-insert-bare", sql.insertBare],
  ] as const) {
    const [m, cpu] = await withCpu([...(ctx.dbCpu ? [ctx.dbCpu] : []), machineCpu("cpu.all")], () =>
      pgbench(bin, url, pgbenchScript(statement), run, ctx.workDir),
    );
    ctx.rec.add(key, sampleOf(m, cpu));
  }
}

/** (a) reserve without conflicts: every call on a resource of its own. Returns the acked ids. */
export async function reserveRound(ctx: Ctx, key: string, prefix: string): Promise<UnaryResult> {
  const [r, cpu] = await runLoad<UnaryResult>(
    ctx,
    unaryTask(ctx, { op: "reserve", prefix }, { collectIds: true }),
  );
  checkNoFailures(ctx, `${key} ${prefix}`, r);
  ctx.rec.add(key, sampleOf(r, cpu));
  await ctx.verify.afterRun(`${key} ${prefix}`, r.ids ?? [], `${prefix}-`);
  return r;
}

/** (b) many callers on 4 resources: most calls clash; every answer must be exact. */
export async function contentionRound(ctx: Ctx, prefix: string): Promise<void> {
  const [r, cpu] = await runLoad<UnaryResult>(
    ctx,
    unaryTask(ctx, { op: "contend", prefix, resources: 4, hours: 2000 }, { collectIds: true }),
  );
  checkNoFailures(ctx, `(b) ${prefix}`, r);
  ctx.rec.add("b", sampleOf(r, { ...cpu, acked: r.ok, clashes: r.errors[ALREADY_EXISTS] ?? 0 }));
  await ctx.verify.afterRun(`(b) ${prefix}`, r.ids ?? [], `${prefix}-`);
}

/** (c) get: the closed-loop maximum, then an open loop at half of it. */
export async function getRound(ctx: Ctx, ids: readonly string[]): Promise<void> {
  const call: UnaryOp = { op: "get", ids: ids.slice(0, 5000) };
  const [max, maxCpu] = await runLoad<UnaryResult>(ctx, unaryTask(ctx, call));
  checkNoFailures(ctx, "(c) get", max);
  ctx.rec.add("c-max", sampleOf(max, maxCpu));
  const [half, halfCpu] = await runLoad<UnaryResult>(
    ctx,
    unaryTask(ctx, call, { rate: max.rate / 2, concurrency: 512 }),
  );
  checkNoFailures(ctx, "(c) get at 50%", half);
  ctx.rec.add("c-half", sampleOf(half, { ...halfCpu, late: half.late ?? 0 }));
}

/**
 * (e) 100 listeners on the whole feed while (a) runs on a second loader: commit→client
 * latency, and every listener must hear every acked create exactly once.
 */
export async function listenRound(ctx: Ctx, listenLoader: Loader, prefix: string): Promise<void> {
  const { opts } = ctx;
  await listenLoader.run(
    { kind: "listen-open", target: ctx.service.address, listeners: opts.listeners },
    60_000,
  );
  // `opened` means the server accepted the call; give each subscription a moment to register
  // before the first write, so "from now on" includes it.
  await sleep(200);
  const [load, cpu] = await runLoad<UnaryResult>(
    ctx,
    unaryTask(ctx, { op: "reserve", prefix }, { collectIds: true }),
    { alsoGen: listenLoader },
  );
  checkNoFailures(ctx, `(e) ${prefix}`, load);
  const ids = load.ids ?? [];
  const heard = await listenLoader.run<ListenResult>(
    { kind: "listen-close", ackedIds: ids, timeoutMs: 30_000 },
    90_000,
  );
  ctx.rec.check(
    `(e) ${prefix}: every listener heard every create exactly once`,
    heard.missing === 0 && heard.duplicates === 0,
    `${heard.missing} missed, ${heard.duplicates} duplicated over ${heard.listeners} listeners × ${ids.length} creates`,
  );
  ctx.rec.add("e", {
    ...cpu,
    rate: load.rate,
    p50: heard.p50,
    p99: heard.p99,
    reserveP99: load.p99,
    events: heard.events,
    foreign: heard.foreign,
  });
  await ctx.verify.afterRun(`(e) ${prefix}`, ids, `${prefix}-`);
}
