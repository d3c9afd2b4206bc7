import { type Ctx, runLoad, sampleOf, unaryTask } from "./context.js";
import { rssMiB } from "./processes.js";
import type { Sample } from "./recorder.js";
import { reserveRound } from "./scenarios.js";
import { count } from "./table.js";
import { type QueryResult, SEED_RESOURCES, type UnaryResult } from "./tasks.js";

/** A growing data set in the seed layout, however the mode loads it. */
export interface DataSet {
  /** Adds rows [from, to) of the seed layout. */
  grow(from: number, to: number): Promise<void>;
  /** Ids of up to `n` seeded rows, to get. */
  sampleIds(n: number): Promise<string[]>;
  /** Rows in the table now, when the mode can count them. */
  rows(): Promise<number | undefined>;
  /** The database's own time to read one resource in one statement, when it can be asked. */
  readLimit?(resourceId: string, rows: number): Promise<Sample>;
}

const STREAMED_RESOURCE = "s-3";

/**
 * Cost growth: reserve, get and a 10-row query at each size, growing the data set in between;
 * then the query stream reads one seeded resource (a tenth of the largest size) while the
 * server's memory is sampled.
 */
export async function growthPhase(ctx: Ctx, data: DataSet): Promise<void> {
  const { opts, rec } = ctx;
  let seeded = 0;
  for (const size of opts.sizes) {
    ctx.log(`  seeding to ${size} rows`);
    await data.grow(seeded, size);
    seeded = size;
    const existing = (await data.rows()) ?? size;
    const ids = await data.sampleIds(2000);
    const at = count(size);
    for (let round = 1; round <= opts.repeats; round++) {
      await reserveRound(ctx, `reserve@${at}`, { op: "reserve", prefix: `f${size}r${round}` });
      const [get, getCpu] = await runLoad<UnaryResult>(ctx, unaryTask(ctx, { op: "get", ids }));
      rec.add(`get@${at}`, sampleOf(get, getCpu, { existing }));
      const [query, queryCpu] = await runLoad<UnaryResult>(
        ctx,
        unaryTask(ctx, { op: "query-small", rows: size, span: 10 }),
      );
      rec.add(`query10@${at}`, sampleOf(query, queryCpu, { existing }));
      rec.check(
        `${at} rows, round ${round}: no failed get or query`,
        Object.keys(get.errors).length + Object.keys(query.errors).length === 0,
        JSON.stringify({ get: get.errors, query: query.errors }),
      );
    }
  }

  const expected = seeded / SEED_RESOURCES;
  for (let round = 1; round <= opts.repeats; round++) {
    const before = rssMiB(ctx.service.pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(ctx.service.pid));
    }, 20);
    let q: QueryResult;
    let cpu: Record<string, number>;
    try {
      [q, cpu] = await runLoad<QueryResult>(ctx, {
        kind: "query",
        target: ctx.service.address,
        resourceId: STREAMED_RESOURCE,
      });
    } finally {
      clearInterval(sampler);
    }
    rec.check(
      `query stream, round ${round}: streamed every row`,
      q.rows === expected,
      `${q.rows} of ${expected}`,
    );
    const first = { rate: q.rows / (q.totalMs / 1000), p50: q.firstRowMs, p99: q.firstRowMs };
    rec.add(
      "query-stream",
      sampleOf(first, cpu, { rows: q.rows, rssBeforeMiB: before, rssGrowthMiB: peak - before }),
    );
    if (data.readLimit) rec.add("query-select", await data.readLimit(STREAMED_RESOURCE, expected));
  }
}
