import { findBinary, pgbench, queryScript } from "./baselines.js";
import { BenchDb } from "./bench-db.js";
import { clusterCpu } from "./cpu.js";
import { growthPhase } from "./growth.js";
import { Loader } from "./loader.js";
import type { ModeEnv, ModeInfo } from "./mode.js";
import { startPgServer } from "./postgres-server.js";
import {
  type Ctx,
  contentionRound,
  dbRound,
  getRound,
  listenRound,
  reserveRound,
  transportRound,
} from "./scenarios.js";
import { startBareServer, startService } from "./servers.js";
import { sqlVerifier } from "./verifier.js";

/** The full bench against a Postgres server, with pgbench as the DB limit. */
export async function runPostgres(env: ModeEnv): Promise<ModeInfo> {
  const { opts, procs, rec, workDir } = env;
  const notes = [
    "ANALYZE before each round, as autovacuum would in steady state (its 1-minute naptime is longer than a phase): with stale statistics rsvp.reserve's plan scans the whole table on every call",
  ];
  const server = await startPgServer();
  env.onCleanup(() => server.stop());
  const pgbenchBin = findBinary("pgbench");
  const h2loadBin = findBinary("h2load");
  if (!pgbenchBin) notes.push("pgbench not found: no DB limits (install postgresql-client)");
  if (!h2loadBin) notes.push("h2load not found: no h2load rows (apt-get install nghttp2-client)");
  const serviceOpts = (databaseUrl: string) => ({
    databaseUrl,
    ...(env.cpuProfDir ? { cpuProfDir: env.cpuProfDir } : {}),
  });

  const loader = Loader.start(procs);
  const listenLoader = Loader.start(procs);

  env.log(`main phase: transport, DB limits, (a) (b) (c) (e) × ${opts.repeats}`);
  const mainUrl = await server.createDatabase("rsvp_bench_main");
  const service = await startService(procs, serviceOpts(mainUrl));
  const db = new BenchDb(mainUrl);
  env.onCleanup(() => db.close());
  await db.createBareTable();
  const bare = await startBareServer(procs);
  const ctx: Ctx = {
    opts,
    rec,
    loader,
    service,
    verify: sqlVerifier(db, rec),
    workDir,
    log: env.log,
    ...(server.postmasterPid ? { dbCpu: clusterCpu("cpu.db", server.postmasterPid) } : {}),
  };
  for (let round = 1; round <= opts.repeats; round++) {
    env.log(`  round ${round}`);
    await db.analyze();
    await transportRound(ctx, bare, h2loadBin);
    if (pgbenchBin) await dbRound(ctx, pgbenchBin, mainUrl);
    const a = await reserveRound(ctx, "a", `a${round}`);
    await contentionRound(ctx, `b${round}`);
    await getRound(ctx, a.ids ?? []);
    await listenRound(ctx, listenLoader, `e${round}`);
  }
  await ctx.verify.finish("main phase");
  await bare.stop();
  await service.stop();

  env.log(`growth phase: (f) at ${opts.sizes.join(", ")} rows, then (d)`);
  const growthUrl = await server.createDatabase("rsvp_bench_growth");
  const growthService = await startService(procs, serviceOpts(growthUrl));
  const gdb = new BenchDb(growthUrl);
  env.onCleanup(() => gdb.close());
  const gctx: Ctx = { ...ctx, service: growthService, verify: sqlVerifier(gdb, rec) };
  await growthPhase(gctx, {
    grow: (from, to) => gdb.seed(from, to),
    sampleIds: (n) => gdb.sampleIds(n),
    rows: () => gdb.count(),
    settle: () => gdb.analyze(),
    ...(pgbenchBin
      ? {
          async readLimit(resourceId, rows) {
            const run = { clients: 1, threads: 1, transactions: 3 };
            const m = await pgbench(pgbenchBin, growthUrl, queryScript(resourceId), run, workDir);
            return { rate: m.rate * rows, p50: m.p50, p99: m.p99 };
          },
        }
      : {}),
  });
  await gctx.verify.finish("growth phase");
  await growthService.stop();
  await Promise.all([loader.stop(), listenLoader.stop()]);
  return { database: server.version, notes };
}
