import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import type { RsvpClient } from "../src/client/grpc-client.js";
import type { App } from "../src/server/app.js";
import { postgresBackends } from "./helpers/databases.js";
import { type OwnCluster, type Standby, startOwnCluster } from "./helpers/own-cluster.js";
import { assertNothingLost, type Served, serveOn, startWorkload } from "./helpers/workload.js";

const WRITERS = 6;
const PER_WRITER = 50;

const withDb = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/** Runs `fn` on a one-connection pool to `url`. */
async function onServer<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

// Postgres only, on clusters of its own: a primary, and a synchronous standby promoted under load.
for (const _ of postgresBackends) {
  describe("failover: a synchronous standby promoted while writers and a listener run", () => {
    let primary: OwnCluster | undefined;
    let standby: Standby | undefined;
    let served: Served;
    let app: App;
    let client: RsvpClient;
    before(async () => {
      primary = await startOwnCluster(["fsync=on", "synchronous_commit=on", "full_page_writes=on"]);
      assert.ok(primary, "Postgres binaries are installed (the Postgres suites run)");
      await onServer(primary.url, (sql) => sql`CREATE DATABASE rsvp`);
      standby = await primary.addStandby();
      // Synchronous from now on: a commit is acknowledged once the standby has it.
      await onServer(primary.url, async (sql) => {
        await sql`ALTER SYSTEM SET synchronous_standby_names = '*'`;
        await sql`SELECT pg_reload_conf()`;
      });
      const p = primary;
      const giveUp = Date.now() + 30_000;
      for (;;) {
        const [row] = await onServer(
          p.url,
          (sql) =>
            sql`SELECT count(*)::int AS n FROM pg_stat_replication WHERE sync_state = 'sync'`,
        );
        if (row?.n === 1) break;
        assert.ok(Date.now() < giveUp, "the standby became synchronous");
        await new Promise((r) => setTimeout(r, 50));
      }
      // Both hosts; only a read-write one is used, so after promotion the new primary is.
      const url = `postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/rsvp?target_session_attrs=read-write`;
      served = await serveOn(url);
      ({ app, client } = served);
    });
    after(async () => {
      client?.close();
      await app?.close();
      standby?.stop();
      primary?.stop();
    });

    it("every acknowledged reservation is on the new primary; the listener resumes without loss or repeat", async () => {
      const work = await startWorkload(served, {
        userId: "fo",
        writers: WRITERS,
        perWriter: PER_WRITER,
      });
      // Let a third of the writes land, then the primary dies and the standby is promoted.
      while (work.acknowledged.size < (WRITERS * PER_WRITER) / 3) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const beforeFailover = work.acknowledged.size;
      primary?.kill();
      standby?.promote();
      await work.written;
      assert.ok(
        work.acknowledged.size > beforeFailover,
        "writes went on after the failover, to the new primary",
      );
      assert.ok(standby);
      await assertNothingLost(withDb(standby.url, "rsvp"), "fo", work, WRITERS * PER_WRITER);
    });
  });
}
