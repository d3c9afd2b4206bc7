import { migrate } from "../src/db/migrate.js";
import { openDb } from "../src/db/open.js";
import { BARE_TABLE_DDL, limitStatements, type Measured } from "./baselines.js";
import { latency, Samples } from "./stats.js";

/** The embedded DB limits, keyed like the pgbench ones. */
export type EmbeddedLimits = Record<"db-reserve" | "db-insert-own" | "db-insert-bare", Measured>;

/**
 * The embedded database's own limits: the same statements as pgbench's, one after another on
 * a PGlite of the harness's own (PGlite has a single connection, so this is its concurrency).
 */
export async function measureEmbeddedLimits(
  durationMs: number,
  warmupMs: number,
): Promise<EmbeddedLimits> {
  const db = await openDb({ kind: "embedded", dataDir: "memory://" });
  try {
    await migrate(db);
    await db.exec(BARE_TABLE_DDL);
    const sql = limitStatements("$1::text");
    let n = 0;
    const measure = async (statement: string): Promise<Measured> => {
      const samples = new Samples();
      const t0 = performance.now();
      const from = t0 + warmupMs;
      const until = from + durationMs;
      for (let now = t0; now < until; ) {
        await db.query(statement, [String(n++)]);
        const done = performance.now();
        if (now >= from) samples.push(done - now);
        now = done;
      }
      return { rate: samples.length / (durationMs / 1000), ...latency(samples.values()) };
    };
    return {
      "db-reserve": await measure(sql.reserve),
      "db-insert-own": await measure(sql.insertOwn),
      "db-insert-bare": await measure(sql.insertBare),
    };
  } finally {
    await db.close();
  }
}
