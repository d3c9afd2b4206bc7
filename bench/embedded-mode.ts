import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import type { Db, Queryable } from "../src/db/engine/db.js";
import { migrate } from "../src/db/engine/migrate.js";
import { BARE_TABLE_DDL, limitStatements } from "./baselines.js";
import {
  type Ctx,
  type ModeEnv,
  type ModeInfo,
  runTimeout,
  sampleOf,
  unaryTask,
  type Verifier,
} from "./context.js";
import { growthPhase } from "./growth.js";
import { findTool, H2LOAD } from "./limit-tools.js";
import { Loader } from "./loader.js";
import { type RunningServer, startBareServer, startService } from "./processes.js";
import { histogram, percentiles, type Recorder } from "./recorder.js";
import { mainRound } from "./scenarios.js";
import type { UnaryResult, VerifyResult } from "./tasks.js";

/**
 * PGlite on the harness's own thread, no thread between it and its caller: the engine's own
 * speed, which the service's embedded rows are compared with.
 */
async function bareEngine(): Promise<Db> {
  const pg = await PGlite.create("memory://", { extensions: { btree_gist } });
  const on = (q: Pick<PGlite, "query" | "exec">): Queryable => ({
    query: async <T>(text: string, params: readonly unknown[] = []) =>
      (await q.query<T>(text, [...params])).rows,
    exec: async (text: string) => {
      await q.exec(text);
    },
  });
  return {
    kind: "embedded",
    description: "bare PGlite",
    ...on(pg),
    transaction: (fn) => pg.transaction((tx) => fn(on(tx))),
    listen: () => Promise.reject(new Error("not needed for the limits")),
    close: () => pg.close(),
  };
}

/**
 * The embedded database's own limits, keyed like pgbench's: the same statements one after
 * another on a PGlite of the harness's own (PGlite has a single connection, so this is its
 * concurrency). CPU is the harness's own, which is then all PGlite.
 */
async function embeddedLimits(rec: Recorder, durationMs: number, warmupMs: number): Promise<void> {
  const db = await bareEngine();
  try {
    await migrate(db);
    await db.exec(BARE_TABLE_DDL);
    const sql = limitStatements("$1::text");
    let n = 0;
    for (const [key, statement] of [
      ["db-reserve", sql.reserve],
      ["db-insert-own", sql.insertOwn],
      ["db-insert-bare", sql.insertBare],
    ] as const) {
      const lat = histogram();
      const t0 = performance.now();
      const from = t0 + warmupMs;
      const until = from + durationMs;
      let cpu = process.cpuUsage();
      for (let now = t0; now < until; ) {
        if (now < from) cpu = process.cpuUsage();
        await db.query(statement, [String(n++)]);
        const done = performance.now();
        if (now >= from) lat.recordValue(Math.round((done - now) * 1000));
        now = done;
      }
      const used = process.cpuUsage(cpu);
      const cores = (used.user + used.system) / 1000 / durationMs;
      const rate = lat.totalCount / (durationMs / 1000);
      rec.add(key, sampleOf({ rate, ...percentiles(lat) }, { "cpu.db": cores }));
    }
  } finally {
    await db.close();
  }
}

/**
 * The same scenarios against the embedded database (PGlite on a thread of the service process, in
 * memory). There is no SQL access from outside: data sets are built and checked over gRPC.
 * The service's CPU includes the database's.
 */
export async function runEmbedded(env: ModeEnv): Promise<ModeInfo> {
  const { opts, procs, rec, workDir } = env;
  const notes = [
    "embedded: DB limits are the same statements on a PGlite of the harness's own, one at a time; data sets are built with reserve calls; service CPU includes the database",
  ];
  const h2load = findTool(H2LOAD, notes, env.log);
  const serviceOpts = {
    databaseUrl: "memory://",
    ...(env.cpuProfDir ? { cpuProfDir: env.cpuProfDir } : {}),
  };
  const loader = Loader.start(procs);
  const listenLoader = Loader.start(procs);
  let service: RunningServer = await startService(procs, serviceOpts);
  const verify = rpcVerifier(loader, () => service.address, rec);

  env.log(`main phase × ${opts.repeats}`);
  const bare = { h2: await startBareServer(procs), grpc: await startBareServer(procs, "grpc") };
  const ctx: Ctx = { opts, rec, loader, service, verify, workDir, log: env.log };
  const limits = () => embeddedLimits(rec, opts.durationMs, opts.warmupMs);
  for (let round = 1; round <= opts.repeats; round++) {
    await mainRound(ctx, round, { bare, h2load, listenLoader, limits });
  }
  await verify.finish("main phase");
  await Promise.all([bare.h2.stop(), bare.grpc.stop()]);
  await service.stop();

  env.log(`growth phase: ${opts.sizes.join(", ")} rows, then the query stream`);
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

/**
 * Checks over the service's own `query` (embedded mode: the database lives inside the service
 * process). The acked ids are gathered and checked against one full read at the end.
 */
export function rpcVerifier(loader: Loader, target: () => string, rec: Recorder): Verifier {
  const acked: string[] = [];
  return {
    async afterRun(_name, ids) {
      acked.push(...ids);
    },
    async finish(name) {
      const r = await loader.run<VerifyResult>(
        { kind: "verify", target: target(), ackedIds: acked },
        600_000,
      );
      rec.check(
        `${name}: every acked reservation exists`,
        r.missing === 0,
        `${r.missing} of ${acked.length} missing`,
      );
      rec.check(
        `${name}: no overlapping live rows, no resource over its capacity`,
        r.overfilled === 0,
        `${r.overfilled} of ${r.rows} rows overlap (or overfill) the rows before them`,
      );
      acked.length = 0;
    },
  };
}
