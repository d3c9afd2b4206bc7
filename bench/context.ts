import { type CpuSource, machineCpu, processCpu, withCpu } from "./cpu.js";
import type { Loader } from "./loader.js";
import type { BenchOptions } from "./options.js";
import type { Processes, RunningServer } from "./processes.js";
import type { Recorder, Sample } from "./recorder.js";
import type { Task, UnaryOp, UnaryResult, UnaryTask } from "./tasks.js";

// What every scenario runs against, and the helpers each round uses to run and record a load.

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
  /**
   * After one load run: its acked reservations exist, and its resources have no overlap (an
   * exclusive one) or hold no more units than their capacity (a counted one).
   */
  afterRun(name: string, ackedIds: readonly string[], resourcePrefix: string): Promise<void>;
  /** At the end of a phase: the same, anywhere in the table. */
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

/** The gRPC status of a clash: an exact answer under contention, not a failure. */
export const ALREADY_EXISTS = "6";

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

/** Records that a load run failed no call (a clash is an answer, not a failure). */
export function checkNoFailures(ctx: Ctx, name: string, r: UnaryResult): void {
  const n = Object.entries(r.errors).reduce((s, [c, k]) => (c === ALREADY_EXISTS ? s : s + k), 0);
  ctx.rec.check(`${name}: no failed calls`, n === 0, `${n} failed: ${JSON.stringify(r.errors)}`);
}
