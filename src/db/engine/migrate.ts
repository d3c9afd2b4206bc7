import { readdir, readFile } from "node:fs/promises";
import type { Db } from "./db.js";

const MIGRATIONS_DIR = new URL("../migrations/", import.meta.url);
// Serialises migrators across processes: several servers may start at once on one database.
const MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(7397, 0)";

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => ({
      version: Number.parseInt(name, 10),
      name,
      sql: await readFile(new URL(name, MIGRATIONS_DIR), "utf8"),
    })),
  );
}

/**
 * Applies the migrations not yet applied, in order, in one transaction. Safe to run from
 * several processes at once and again on every start. Returns the names it applied.
 */
export async function migrate(db: Db): Promise<string[]> {
  const migrations = await loadMigrations();
  return db.transaction(async (tx) => {
    // A migration may rewrite a big table, and wait for another server's migration to end:
    // the session timeouts are for serving, not for this.
    await tx.exec("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0");
    await tx.query(MIGRATION_LOCK);
    await tx.exec(`
      CREATE SCHEMA IF NOT EXISTS rsvp;
      CREATE TABLE IF NOT EXISTS rsvp.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      );`);
    const rows = await tx.query<{ version: number }>("SELECT version FROM rsvp.schema_migrations");
    const applied = new Set(rows.map((r) => Number(r.version)));
    const done: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query("INSERT INTO rsvp.schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      done.push(m.name);
    }
    return done;
  });
}

/** The highest migration version this build knows: readiness means the database has it. */
export async function latestVersion(): Promise<number> {
  const migrations = await loadMigrations();
  return migrations.at(-1)?.version ?? 0;
}
