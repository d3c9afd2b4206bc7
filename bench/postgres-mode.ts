import { pgbench, queryScript } from "./baselines.js";
import { BenchDb, sqlVerifier } from "./bench-db.js";
import { type Ctx, type ModeEnv, type ModeInfo, sampleOf } from "./context.js";
import { clusterCpu, machineCpu, withCpu } from "./cpu.js";
import { feedPhase } from "./feed-phase.js";
import { growthPhase } from "./growth.js";
import { findTool, H2LOAD, PGBENCH } from "./limit-tools.js";
import { Loader } from "./loader.js";
import { startPgServer } from "./postgres-server.js";
import { startBareServer, startService } from "./processes.js";
import { dbRound, mainRound } from "./scenarios.js";

/** The full bench against a Postgres server, with pgbench as the DB limit. */
export async function runPostgres(env: ModeEnv): Promise<ModeInfo> {
  const { opts, procs, rec, workDir } = env;
  const notes: string[] = [];
  const pgbenchBin = findTool(PGBENCH, notes, env.log);
  const h2load = findTool(H2LOAD, notes, env.log);
  const server = await startPgServer();
  env.onCleanup(() => server.stop());
  if (!server.postmasterPid) notes.push("DATABASE_URL: the database's CPU cannot be measured");
  const serviceOpts = (databaseUrl: string) => ({
    databaseUrl,
    ...(env.cpuProfDir ? { cpuProfDir: env.cpuProfDir } : {}),
  });

  const loader = Loader.start(procs);
  const listenLoader = Loader.start(procs);

  env.log(`main phase × ${opts.repeats}`);
  const mainUrl = await server.createDatabase("rsvp_bench_main");
  const service = await startService(procs, serviceOpts(mainUrl));
  const db = new BenchDb(mainUrl);
  env.onCleanup(() => db.close());
  await db.createBareTable();
  const bare = { h2: await startBareServer(procs), grpc: await startBareServer(procs, "grpc") };
  const dbCpu = server.postmasterPid ? clusterCpu("cpu.db", server.postmasterPid) : undefined;
  const ctx: Ctx = {
    opts,
    rec,
    loader,
    service,
    verify: sqlVerifier(db, rec),
    workDir,
    log: env.log,
    ...(dbCpu ? { dbCpu } : {}),
  };
  const limits = async () => {
    if (pgbenchBin) await dbRound(ctx, pgbenchBin, mainUrl);
  };
  for (let round = 1; round <= opts.repeats; round++) {
    await mainRound(ctx, round, { bare, h2load, listenLoader, limits });
  }
  await ctx.verify.finish("main phase");
  await Promise.all([bare.h2.stop(), bare.grpc.stop()]);
  await service.stop();

  env.log("feed phase: the change feed at real size");
  const feedUrl = await server.createDatabase("rsvp_bench_feed");
  const foreignUrl = await server.createDatabase("rsvp_bench_foreign");
  const feedService = await startService(procs, serviceOpts(feedUrl));
  const fdb = new BenchDb(feedUrl);
  env.onCleanup(() => fdb.close());
  const fctx: Ctx = { ...ctx, service: feedService, verify: sqlVerifier(fdb, rec) };
  await feedPhase(fctx, listenLoader, fdb, foreignUrl, server.postmasterPid);
  await fctx.verify.finish("feed phase");
  await feedService.stop();

  env.log(`growth phase: ${opts.sizes.join(", ")} rows, then the query stream`);
  const growthUrl = await server.createDatabase("rsvp_bench_growth");
  const growthService = await startService(procs, serviceOpts(growthUrl));
  const gdb = new BenchDb(growthUrl);
  env.onCleanup(() => gdb.close());
  const gctx: Ctx = { ...ctx, service: growthService, verify: sqlVerifier(gdb, rec) };
  await growthPhase(gctx, {
    grow: (from, to) => gdb.seed(from, to),
    sampleIds: (n) => gdb.sampleIds(n),
    rows: () => gdb.count(),
    ...(pgbenchBin
      ? {
          async readLimit(resourceId, rows) {
            const run = { clients: 1, threads: 1, transactions: 3 };
            const script = queryScript(resourceId);
            const [m, cores] = await withCpu(
              [...(dbCpu ? [dbCpu] : []), machineCpu("cpu.all")],
              () => pgbench(pgbenchBin, growthUrl, script, run, workDir),
            );
            return sampleOf({ ...m, rate: m.rate * rows }, cores);
          },
        }
      : {}),
  });
  await gctx.verify.finish("growth phase");
  await growthService.stop();
  await Promise.all([loader.stop(), listenLoader.stop()]);
  return { database: server.version, notes };
}
