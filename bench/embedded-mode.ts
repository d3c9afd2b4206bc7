import { findBinary } from "./baselines.js";
import { measureEmbeddedLimits } from "./embedded-limits.js";
import { growthPhase } from "./growth.js";
import { Loader } from "./loader.js";
import type { ModeEnv, ModeInfo } from "./mode.js";
import {
  type Ctx,
  contentionRound,
  getRound,
  listenRound,
  reserveRound,
  runTimeout,
  sampleOf,
  transportRound,
  unaryTask,
} from "./scenarios.js";
import { type RunningServer, startBareServer, startService } from "./servers.js";
import type { UnaryResult } from "./tasks.js";
import { rpcVerifier } from "./verifier.js";

/**
 * The same scenarios against the embedded database (PGlite in the service process, in
 * memory). There is no SQL access from outside: data sets are built and checked over gRPC.
 */
export async function runEmbedded(env: ModeEnv): Promise<ModeInfo> {
  const { opts, procs, rec, workDir } = env;
  const notes = [
    "embedded: DB limits are the same statements on a PGlite of the harness's own, one at a time; data sets are built with reserve calls",
  ];
  const h2loadBin = findBinary("h2load");
  const serviceOpts = {
    databaseUrl: "memory://",
    ...(env.cpuProfDir ? { cpuProfDir: env.cpuProfDir } : {}),
  };
  const loader = Loader.start(procs);
  const listenLoader = Loader.start(procs);
  let service: RunningServer = await startService(procs, serviceOpts);
  const verify = rpcVerifier(loader, () => service.address, rec);

  env.log(`main phase: transport, (a) (b) (c) (e) × ${opts.repeats}`);
  const bare = await startBareServer(procs);
  const ctx: Ctx = { opts, rec, loader, service, verify, workDir, log: env.log };
  for (let round = 1; round <= opts.repeats; round++) {
    env.log(`  round ${round}`);
    await transportRound(ctx, bare, h2loadBin);
    const limits = await measureEmbeddedLimits(opts.durationMs, opts.warmupMs);
    for (const [key, m] of Object.entries(limits)) rec.add(key, sampleOf(m));
    const a = await reserveRound(ctx, "a", `a${round}`);
    await contentionRound(ctx, `b${round}`);
    await getRound(ctx, a.ids ?? []);
    await listenRound(ctx, listenLoader, `e${round}`);
  }
  await verify.finish("main phase");
  await bare.stop();
  await service.stop();

  env.log(`growth phase: (f) at ${opts.sizes.join(", ")} rows, then (d)`);
  service = await startService(procs, serviceOpts);
  const gctx: Ctx = { ...ctx, service };
  const seededIds: string[] = [];
  await growthPhase(gctx, {
    async grow(from, to) {
      const r = await loader.run<UnaryResult>(
        unaryTask(gctx, { op: "seed", from }, { count: to - from, collectIds: true }),
        runTimeout(opts) + 20 * (to - from),
      );
      rec.check(
        `seed ${from}..${to}: every row acked`,
        r.ok === to - from,
        JSON.stringify(r.errors),
      );
      await verify.afterRun(`seed ${from}..${to}`, r.ids ?? [], "s-");
      seededIds.push(...(r.ids ?? []));
    },
    async sampleIds(n) {
      return Array.from({ length: Math.min(n, seededIds.length) }, () => {
        return seededIds[Math.floor(Math.random() * seededIds.length)] ?? "";
      });
    },
    rows: async () => undefined,
  });
  await verify.finish("growth phase");
  await service.stop();
  await Promise.all([loader.stop(), listenLoader.stop()]);
  return { database: "embedded PGlite (memory://)", notes };
}
