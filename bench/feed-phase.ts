import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import type { BenchDb } from "./bench-db.js";
import { type Ctx, sampleOf } from "./context.js";
import { idleClusterCpu, withCpu } from "./cpu.js";
import { listenRound } from "./listen-round.js";
import type { Loader } from "./loader.js";

/** Reserves per second of the feed's latency rounds: low, so the figure is the feed's own. */
export const FEED_RATE = 50;
/** Listeners on the whole feed in those rounds. */
export const FEED_LISTENERS = 10;
/** Reserves per second spread over the fan-out round's filtered listeners. */
export const FAN_OUT_RATE = 200;
/** Fan-out listeners per HTTP/2 connection (the service allows 1000 streams on one). */
export const LISTENS_PER_CHANNEL = 800;

/**
 * Opens a write transaction (it has a transaction id) on each database and keeps it open until
 * the returned function ends it. Each writes a table of its own: not an rsvp writer.
 */
async function holdForeignWrites(ctx: Ctx, urls: readonly string[]): Promise<() => Promise<void>> {
  const ends: (() => Promise<void>)[] = [];
  for (const url of urls) {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe("CREATE TABLE IF NOT EXISTS bench_foreign (x int)");
    const conn = await sql.reserve();
    await conn.unsafe("BEGIN");
    await conn.unsafe("INSERT INTO bench_foreign VALUES (1)");
    const [row] = await conn.unsafe<{ xid: string | null }[]>(
      "SELECT pg_current_xact_id_if_assigned()::text AS xid",
    );
    ctx.rec.check(
      `feed-foreign: a write transaction held open on ${new URL(url).pathname}`,
      Boolean(row?.xid),
      `xid ${row?.xid}`,
    );
    ends.push(async () => {
      await conn.unsafe("ROLLBACK");
      conn.release();
      await sql.end();
    });
  }
  return async () => {
    for (const end of ends.splice(0)) await end();
  };
}

/**
 * The database's CPU (and the service's) per second while the service sits idle with
 * listeners open: with none open the feed reads nothing at all, which would prove nothing.
 */
async function idleRound(
  ctx: Ctx,
  listenLoader: Loader,
  key: string,
  postmasterPid: number | undefined,
): Promise<void> {
  if (!postmasterPid) return;
  const target = ctx.service.address;
  await listenLoader.run({ kind: "listen-open", target, listeners: FEED_LISTENERS }, 60_000);
  await sleep(500); // the last round's deliveries settle
  const seconds = ctx.opts.quick ? 1 : 5;
  const [, cores] = await withCpu([idleClusterCpu("cpu.db", postmasterPid)], () =>
    sleep(seconds * 1000),
  );
  await listenLoader.run({ kind: "listen-close", ackedIds: [], timeoutMs: 0 }, 60_000);
  // One operation is one idle second: CPU µs/op is µs of database CPU per second.
  ctx.rec.add(key, sampleOf({ rate: 1, p50: Number.NaN, p99: Number.NaN }, cores));
}

/**
 * The change feed at real size, on a database of its own: latency on an empty log
 * and with foreign write transactions held open, idle CPU, then the same with
 * `historyRows` retained changes, then `fanOutListeners` listeners each on one resource.
 */
export async function feedPhase(
  ctx: Ctx,
  listenLoader: Loader,
  db: BenchDb,
  foreignUrl: string,
  postmasterPid: number | undefined,
): Promise<void> {
  const { opts } = ctx;
  // 100 events a run at the least: a p99 needs them.
  const durationMs = Math.max(2000, opts.durationMs);
  const latency = (key: string, prefix: string, afterLoad?: () => Promise<void>) =>
    listenRound(ctx, listenLoader, key, prefix, FEED_RATE, {
      listeners: FEED_LISTENERS,
      durationMs,
      ...(afterLoad ? { afterLoad } : {}),
    });
  for (let r = 1; r <= opts.repeats; r++) {
    ctx.log(`  feed round ${r}: empty log, foreign writers`);
    await latency("feed-empty", `f${r}e`);
    const release = await holdForeignWrites(ctx, [db.url, foreignUrl]);
    try {
      await latency("feed-foreign", `f${r}x`, release);
    } finally {
      await release();
    }
  }
  await idleRound(ctx, listenLoader, "idle-empty", postmasterPid);
  ctx.log(`  ${opts.historyRows} retained changes`);
  await db.insertHistory(opts.historyRows);
  for (let r = 1; r <= opts.repeats; r++) await latency("feed-history", `f${r}h`);
  await idleRound(ctx, listenLoader, "idle-history", postmasterPid);
  for (let r = 1; r <= opts.repeats; r++) {
    ctx.log(`  fan-out round ${r}: ${opts.fanOutListeners} filtered listeners`);
    await listenRound(ctx, listenLoader, "feed-fanout", `f${r}f`, FAN_OUT_RATE, {
      listeners: opts.fanOutListeners,
      filtered: true,
      channels: Math.ceil(opts.fanOutListeners / LISTENS_PER_CHANNEL),
      durationMs,
    });
  }
}
