import { h2load, limitStatements, type PgbenchRun, pgbench, pgbenchScript } from "./baselines.js";
import {
  ALREADY_EXISTS,
  type Ctx,
  checkNoFailures,
  runLoad,
  runTimeout,
  sampleOf,
  unaryTask,
} from "./context.js";
import { countedRound, withCpuVsPlain } from "./counted-round.js";
import { machineCpu, processCpu, withCpu } from "./cpu.js";
import { listenRound } from "./listen-round.js";
import type { Loader } from "./loader.js";
import type { RunningServer } from "./processes.js";
import { pct } from "./table.js";
import { GROUP_ITEMS, POOL_SIZE, type UnaryOp, type UnaryResult } from "./tasks.js";
import { webhookRound } from "./webhook-round.js";

/**
 * Empty rpc (grpc.health.v1.Health/Check) by h2load, one after the other in the same round:
 * the bare HTTP/2 server, a plain grpc-js server, then rsvp.
 */
export async function transportRound(ctx: Ctx, bare: BareServers, bin: string): Promise<void> {
  const { opts, rec } = ctx;
  for (const [key, server] of [
    ["empty-bare", bare.h2],
    ["empty-grpc", bare.grpc],
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
 * items), so that rate and CPU are per reservation. With `vsPlain`, the sample also compares
 * with this round's plain reserve (see withCpuVsPlain). Checks the outcome and returns it
 * (with the acked ids).
 */
export async function reserveRound(
  ctx: Ctx,
  key: string,
  call: WriteOp,
  {
    rate,
    perCall = 1,
    vsPlain = false,
  }: { rate?: number; perCall?: number; vsPlain?: boolean } = {},
): Promise<UnaryResult> {
  const extra = rate === undefined ? {} : { rate };
  const [r, cores] = await runLoad<UnaryResult>(
    ctx,
    unaryTask(ctx, call, { collectIds: true, ...extra }),
  );
  const name = `${key} ${call.prefix}`;
  checkNoFailures(ctx, name, r);
  const sample = sampleOf({ ...r, rate: r.rate * perCall }, cores);
  ctx.rec.add(key, vsPlain ? withCpuVsPlain(ctx, sample) : sample);
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
 * registered through ResourceService first (not measured); reserveAll of GROUP_ITEMS; then
 * reserve of counted resources.
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
  await reserveRound(ctx, "pool", { op: "pool", prefix, pools }, { vsPlain: true });
  const group = { op: "group", prefix: `g${round}`, items: GROUP_ITEMS } as const;
  await reserveRound(ctx, "group", group, { perCall: GROUP_ITEMS });
  await countedRound(ctx, round);
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

/** The servers that show the transport's ceilings (see startBareServer). */
export interface BareServers {
  readonly h2: RunningServer;
  readonly grpc: RunningServer;
}

/** What one round of the main phase needs besides the context. */
export interface MainRound {
  readonly bare: BareServers;
  /** h2load's path; without it there are no empty-rpc rows. */
  readonly h2load: string | undefined;
  readonly listenLoader: Loader;
  /** Measures the database's limits (pgbench, or PGlite in the harness). */
  limits(): Promise<void>;
}

/** One round of the main phase: transport, DB limits, reserve, pool and group, contention, get, listen, webhooks. */
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
  await webhookRound(ctx, `h${round}`);
}
