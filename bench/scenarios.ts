import { setTimeout as sleep } from "node:timers/promises";
import { h2load, limitStatements, type PgbenchRun, pgbench, pgbenchScript } from "./baselines.js";
import { type CpuSource, machineCpu, processCpu, withCpu } from "./cpu.js";
import type { Loader } from "./loader.js";
import type { BenchOptions } from "./options.js";
import { type Processes, type RunningServer, rssMiB } from "./processes.js";
import type { Recorder, Sample } from "./recorder.js";
import { pct } from "./table.js";
import {
  GROUP_ITEMS,
  type ListenResult,
  POOL_SIZE,
  type Task,
  type UnaryOp,
  type UnaryResult,
  type UnaryTask,
} from "./tasks.js";

/** What a mode tells the report about its setting. */
export interface ModeInfo {
  readonly database: string;
  readonly notes: string[];
}

/** Everything a mode needs from the entry point. */
export interface ModeEnv {
  readonly opts: BenchOptions;
  readonly procs: Processes;
  readonly rec: Recorder;
  readonly workDir: string;
  readonly cpuProfDir?: string;
  /** Registers clean-up that must run however the run ends (also on Ctrl-C). */
  onCleanup(fn: () => Promise<void>): void;
  log(message: string): void;
}

/** The correctness checks of a run; each result goes into the recorder. */
export interface Verifier {
  /** After one load run: its acked reservations exist and its resources have no overlap. */
  afterRun(name: string, ackedIds: readonly string[], resourcePrefix: string): Promise<void>;
  /** At the end of a phase: no overlap anywhere in the table. */
  finish(name: string): Promise<void>;
}

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
    ...extra,
  };
}

/** Long enough for a load run and the drain after it, short enough to catch a hang. */
export const runTimeout = (opts: BenchOptions) => opts.warmupMs + opts.durationMs + 60_000;

/**
 * One repeat's figures. `cores` are the cores each group used during the run; divided by the
 * rate they give CPU µs per operation, service and database together (`cpuUs`) and the load
 * generators apart (`genUs`). That figure barely moves when others share the machine, where
 * rates do.
 */
export function sampleOf(
  r: { rate: number; p50: number; p99: number },
  cores: Record<string, number>,
  extra: Record<string, number> = {},
): Sample {
  const perOp = (c: number | undefined) => ((c ?? 0) / r.rate) * 1e6;
  return {
    rate: r.rate,
    p50: r.p50,
    p99: r.p99,
    ...cores,
    cpuUs: perOp((cores["cpu.svc"] ?? 0) + (cores["cpu.db"] ?? 0)),
    ...(cores["cpu.gen"] === undefined ? {} : { genUs: perOp(cores["cpu.gen"]) }),
    ...extra,
  };
}

/**
 * Runs one task on a load generator and measures the cores used meanwhile by the server
 * (`svc`), the load generators (`gen`) and the database (`db`).
 */
export async function runLoad<T>(
  ctx: Ctx,
  task: Task,
  opts: { alsoGen?: Loader } = {},
): Promise<[T, Record<string, number>]> {
  const sources = [
    processCpu("cpu.svc", ctx.service.pid),
    processCpu("cpu.gen", ctx.loader.pid),
    ...(opts.alsoGen ? [processCpu("cpu.gen", opts.alsoGen.pid)] : []),
    ...(ctx.dbCpu ? [ctx.dbCpu] : []),
    machineCpu("cpu.all"),
  ];
  const timeout = task.kind === "unary" ? runTimeout(ctx.opts) : 600_000;
  return withCpu(sources, () => ctx.loader.run<T>(task, timeout));
}

function checkNoFailures(ctx: Ctx, name: string, r: UnaryResult): void {
  const n = Object.entries(r.errors).reduce((s, [c, k]) => (c === ALREADY_EXISTS ? s : s + k), 0);
  ctx.rec.check(`${name}: no failed calls`, n === 0, `${n} failed: ${JSON.stringify(r.errors)}`);
}

/** Empty rpc (grpc.health.v1.Health/Check) by h2load: the bare HTTP/2 server, then rsvp. */
export async function transportRound(ctx: Ctx, bare: RunningServer, bin: string): Promise<void> {
  const { opts, rec } = ctx;
  for (const [key, server] of [
    ["empty-bare", bare],
    ["empty-rsvp", ctx.service],
  ] as const) {
    // h2load's own CPU is not counted (it lands in "other").
    const [m, cores] = await withCpu(
      [processCpu("cpu.svc", server.pid), machineCpu("cpu.all")],
      () => h2load(bin, server.address, opts.durationMs, opts.warmupMs, ctx.workDir),
    );
    rec.add(key, sampleOf(m, cores));
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
    const [m, cores] = await withCpu(
      [...(ctx.dbCpu ? [ctx.dbCpu] : []), machineCpu("cpu.all")],
      () => pgbench(bin, url, pgbenchScript(statement), run, ctx.workDir),
    );
    ctx.rec.add(key, sampleOf(m, cores));
  }
}

/** A write load whose calls never clash: plain, pool or group reserve. */
export type WriteOp = Extract<UnaryOp, { op: "reserve" | "pool" | "group" }>;

/**
 * A write load flat out, or open loop at `rate`; `perCall` reservations per call (a group's
 * items), so that rate and CPU are per reservation. Checks the outcome and returns it (with
 * the acked ids).
 */
export async function reserveRound(
  ctx: Ctx,
  key: string,
  call: WriteOp,
  { rate, perCall = 1 }: { rate?: number; perCall?: number } = {},
): Promise<UnaryResult> {
  const extra = rate === undefined ? {} : { rate };
  const [r, cores] = await runLoad<UnaryResult>(
    ctx,
    unaryTask(ctx, call, { collectIds: true, ...extra }),
  );
  const name = `${key} ${call.prefix}`;
  checkNoFailures(ctx, name, r);
  ctx.rec.add(key, sampleOf({ ...r, rate: r.rate * perCall }, cores));
  await ctx.verify.afterRun(name, r.ids ?? [], `${call.prefix}-`);
  return r;
}

/** Reserve flat out, then open loop at each of the loads of that maximum. Returns the maximum. */
export async function reserveRounds(ctx: Ctx, prefix: string): Promise<UnaryResult> {
  const max = await reserveRound(ctx, "reserve", { op: "reserve", prefix });
  for (const load of ctx.opts.loads) {
    const call = { op: "reserve", prefix: `${prefix}o${pct(load)}` } as const;
    await reserveRound(ctx, `reserve@${pct(load)}`, call, { rate: max.rate * load });
  }
  return max;
}

/**
 * Pool and group reserve flat out: one pool per call in flight, POOL_SIZE resources each,
 * registered through ResourceService first (not measured); reserveAll of GROUP_ITEMS.
 */
export async function bookingKindRounds(ctx: Ctx, round: number): Promise<void> {
  const prefix = `p${round}`;
  const pools = ctx.opts.concurrency;
  const register = { op: "register", prefix, size: POOL_SIZE } as const;
  const task = unaryTask(ctx, register, { count: pools * POOL_SIZE });
  checkNoFailures(
    ctx,
    `register ${prefix}`,
    await ctx.loader.run<UnaryResult>(task, runTimeout(ctx.opts)),
  );
  await reserveRound(ctx, "pool", { op: "pool", prefix, pools });
  const group = { op: "group", prefix: `g${round}`, items: GROUP_ITEMS } as const;
  await reserveRound(ctx, "group", group, { perCall: GROUP_ITEMS });
}

/** Many callers on 4 resources: most calls clash; every answer must be exact. */
export async function contentionRound(ctx: Ctx, prefix: string): Promise<void> {
  const [r, cores] = await runLoad<UnaryResult>(
    ctx,
    unaryTask(ctx, { op: "contend", prefix, resources: 4, hours: 2000 }, { collectIds: true }),
  );
  checkNoFailures(ctx, `contend ${prefix}`, r);
  const extra = { acked: r.ok, clashes: r.errors[ALREADY_EXISTS] ?? 0 };
  ctx.rec.add("contend", sampleOf(r, cores, extra));
  await ctx.verify.afterRun(`contend ${prefix}`, r.ids ?? [], `${prefix}-`);
}

/** get: the closed-loop maximum, then open loop at each of the loads of it. */
export async function getRounds(ctx: Ctx, ids: readonly string[]): Promise<void> {
  const call: UnaryOp = { op: "get", ids: ids.slice(0, 5000) };
  const [max, maxCores] = await runLoad<UnaryResult>(ctx, unaryTask(ctx, call));
  checkNoFailures(ctx, "get", max);
  ctx.rec.add("get", sampleOf(max, maxCores));
  for (const load of ctx.opts.loads) {
    const key = `get@${pct(load)}`;
    const [r, cores] = await runLoad<UnaryResult>(
      ctx,
      unaryTask(ctx, call, { rate: max.rate * load }),
    );
    checkNoFailures(ctx, key, r);
    ctx.rec.add(key, sampleOf(r, cores));
  }
}

/** How a listen round differs from the main phase's (100 listeners on the whole feed). */
export interface ListenShape {
  readonly listeners?: number;
  /** Each listener on a resource of its own, the reserves spread over those resources. */
  readonly filtered?: boolean;
  /** HTTP/2 connections the listeners share. */
  readonly channels?: number;
  readonly durationMs?: number;
  /** Runs once the writes are done, before waiting for their events (ends a held transaction). */
  readonly afterLoad?: () => Promise<void>;
}

/**
 * Listeners (a load generator of their own) while reserve runs at `rate` (or flat out):
 * commit→listener latency, CPU per delivered event, the service's RSS per open listener, and
 * every acked create must be heard exactly once by every listener it matches.
 */
export async function listenRound(
  ctx: Ctx,
  listenLoader: Loader,
  key: string,
  prefix: string,
  rate?: number,
  shape: ListenShape = {},
): Promise<{ deliveredPerListener: number }> {
  const { opts } = ctx;
  const listeners = shape.listeners ?? opts.listeners;
  const rssBefore = rssMiB(ctx.service.pid);
  await listenLoader.run(
    {
      kind: "listen-open",
      target: ctx.service.address,
      listeners,
      ...(shape.filtered ? { resourcePrefix: prefix } : {}),
      ...(shape.channels ? { channels: shape.channels } : {}),
    },
    120_000,
  );
  // `opened` means the server accepted the call; give each subscription a moment to register
  // before the first write, so "from now on" includes it.
  await sleep(200);
  const rssPerListenerKiB = ((rssMiB(ctx.service.pid) - rssBefore) * 1024) / listeners;
  const extra = rate === undefined ? {} : { rate };
  const call = { op: "reserve", prefix, ...(shape.filtered ? { spread: listeners } : {}) } as const;
  const durationMs = shape.durationMs ?? opts.durationMs;
  const task = unaryTask(ctx, call, { collectIds: true, durationMs, ...extra });
  // CPU counts until the last event is delivered: the close waits for it.
  const t0 = performance.now();
  const [[load, heard], cores] = await withCpu(
    [
      processCpu("cpu.svc", ctx.service.pid),
      processCpu("cpu.gen", ctx.loader.pid),
      processCpu("cpu.gen", listenLoader.pid),
      ...(ctx.dbCpu ? [ctx.dbCpu] : []),
    ],
    async () => {
      const r = await ctx.loader.run<UnaryResult>(task, runTimeout(opts) + durationMs);
      await shape.afterLoad?.();
      const h = await listenLoader.run<ListenResult>(
        { kind: "listen-close", ackedIds: r.ids ?? [], timeoutMs: 30_000 },
        90_000,
      );
      return [r, h] as const;
    },
  );
  checkNoFailures(ctx, `${key} ${prefix}`, load);
  const ids = load.ids ?? [];
  const wrong = shape.filtered ? heard.foreign : 0;
  ctx.rec.check(
    `${key} ${prefix}: every listener heard every create it matches exactly once`,
    heard.missing === 0 && heard.duplicates === 0 && wrong === 0,
    `${heard.missing} missed, ${heard.duplicates} duplicated, ${wrong} of another resource over ${heard.listeners} listeners × ${ids.length} creates`,
  );
  // Per delivered event: the rate is events over the whole run, as the cores are.
  const seconds = (performance.now() - t0) / 1000;
  ctx.rec.add(
    key,
    sampleOf({ rate: heard.events / seconds, p50: heard.p50, p99: heard.p99 }, cores, {
      reserveRate: load.rate,
      reserveP99: load.p99,
      events: heard.events,
      foreign: heard.foreign,
      maxMs: heard.maxMs,
      listeners,
      rssPerListenerKiB,
    }),
  );
  await ctx.verify.afterRun(`${key} ${prefix}`, ids, `${prefix}-`);
  return { deliveredPerListener: heard.events / seconds / listeners };
}

/** What one round of the main phase needs besides the context. */
export interface MainRound {
  readonly bare: RunningServer;
  /** h2load's path; without it there are no empty-rpc rows. */
  readonly h2load: string | undefined;
  readonly listenLoader: Loader;
  /** Measures the database's limits (pgbench, or PGlite in the harness). */
  limits(): Promise<void>;
}

/** One round of the main phase: transport, DB limits, reserve, pool and group, contention, get, listen. */
export async function mainRound(ctx: Ctx, round: number, m: MainRound): Promise<void> {
  ctx.log(`  round ${round}`);
  if (m.h2load) await transportRound(ctx, m.bare, m.h2load);
  await m.limits();
  const max = await reserveRounds(ctx, `a${round}`);
  await bookingKindRounds(ctx, round);
  await contentionRound(ctx, `b${round}`);
  await getRounds(ctx, max.ids ?? []);
  // With 100 listeners attached the service's maximum is the rate whose events it can
  // deliver: every reserve is also an event for each of them. Flat out, the reserves outrun
  // delivery (they queue as backlog, each still delivered once), so the maximum is what
  // arrived per second over the whole run, drain included. The latency target applies at
  // half of it, and also at half of plain reserve's maximum, a rate whose events two cores
  // cannot carry (see docs/benchmark.md).
  const fanMax = await listenRound(ctx, m.listenLoader, "listen@max", `e${round}m`);
  await listenRound(
    ctx,
    m.listenLoader,
    "listen@50%",
    `e${round}h`,
    fanMax.deliveredPerListener / 2,
  );
  await listenRound(ctx, m.listenLoader, "listen@50%r", `e${round}r`, max.rate / 2);
}
