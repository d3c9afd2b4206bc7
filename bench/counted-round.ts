import {
  ALREADY_EXISTS,
  type Ctx,
  checkNoFailures,
  runLoad,
  runTimeout,
  sampleOf,
  unaryTask,
} from "./context.js";
import type { Sample } from "./recorder.js";
import type { UnaryResult } from "./tasks.js";

/** Units of each resource of the counted rows. */
export const COUNTED_CAPACITY = 10;
/** Resources of the counted rows: the calls in flight share them. */
export const COUNTED_RESOURCES = 8;
/** Calls per resource and hour: one more than fits, so most fit and a few clash. */
export const COUNTED_PER_HOUR = COUNTED_CAPACITY + 1;

/**
 * `sample` with `cpuVsPlain`: its CPU per reservation over that of this round's plain reserve
 * (recorded before it), so that a row compares with plain reserve under the same load on the
 * machine rather than with the median of other rounds.
 */
export function withCpuVsPlain(ctx: Ctx, sample: Sample): Sample {
  const plain = ctx.rec.all("reserve").at(-1)?.cpuUs;
  if (plain === undefined || sample.cpuUs === undefined) return sample;
  return { ...sample, cpuVsPlain: sample.cpuUs / plain };
}

/**
 * Reserve of counted resources flat out: COUNTED_RESOURCES resources of COUNTED_CAPACITY
 * units, registered first (not measured), one unit per call, the calls in flight spread over
 * them hour by hour. Checked afterwards like every write row: acknowledged rows stored, no
 * resource over its capacity.
 */
export async function countedRound(ctx: Ctx, round: number): Promise<void> {
  const prefix = `c${round}`;
  const register = {
    op: "register",
    prefix,
    size: COUNTED_RESOURCES,
    capacity: COUNTED_CAPACITY,
  } as const;
  checkNoFailures(
    ctx,
    `register ${prefix}`,
    await ctx.loader.run<UnaryResult>(
      unaryTask(ctx, register, { count: COUNTED_RESOURCES }),
      runTimeout(ctx.opts),
    ),
  );
  const call = {
    op: "counted",
    prefix,
    resources: COUNTED_RESOURCES,
    perHour: COUNTED_PER_HOUR,
  } as const;
  const [r, cores] = await runLoad<UnaryResult>(ctx, unaryTask(ctx, call, { collectIds: true }));
  const name = `counted ${prefix}`;
  checkNoFailures(ctx, name, r);
  const extra = { acked: r.ok, clashes: r.errors[ALREADY_EXISTS] ?? 0 };
  ctx.rec.add("counted", withCpuVsPlain(ctx, sampleOf(r, cores, extra)));
  await ctx.verify.afterRun(name, r.ids ?? [], `${prefix}-`);
}
