import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import type { RsvpClient } from "../src/client/grpc-client.js";
import type { App } from "../src/server/app.js";
import { postgresBackends } from "./helpers/databases.js";
import { type OwnCluster, startOwnCluster } from "./helpers/own-cluster.js";
import { assertNothingLost, type Served, serveOn, startWorkload } from "./helpers/workload.js";

const WRITERS = 8;
const PER_WRITER = 60;

/** Kills every backend of the rsvp database but the one asking. */
async function killBackends(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                            WHERE datname = 'rsvp' AND pid <> pg_backend_pid()`;
    return rows.length;
  } finally {
    await sql.end();
  }
}

// Postgres only, on a cluster of its own: it is restarted under the test.
for (const _ of postgresBackends) {
  describe("chaos: Postgres restarts and every backend is killed while writers and a listener run", () => {
    let cluster: OwnCluster | undefined;
    let served: Served;
    let app: App;
    let client: RsvpClient;
    let rsvpUrl: string;
    before(async () => {
      // Durable, as in production: the shared test cluster trades that for speed, and a crash
      // would rightly lose commits acknowledged under synchronous_commit=off.
      cluster = await startOwnCluster(["fsync=on", "synchronous_commit=on", "full_page_writes=on"]);
      assert.ok(cluster, "Postgres binaries are installed (the Postgres suites run)");
      const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
      await admin`CREATE DATABASE rsvp`;
      await admin.end();
      const u = new URL(cluster.url);
      u.pathname = "/rsvp";
      rsvpUrl = u.toString();
      served = await serveOn(rsvpUrl);
      ({ app, client } = served);
    });
    after(async () => {
      client?.close();
      await app?.close();
      cluster?.stop();
    });

    it("nothing acknowledged is lost, every acknowledged create is heard once, errors are UNAVAILABLE", async () => {
      const work = await startWorkload(served, {
        userId: "chaos",
        writers: WRITERS,
        perWriter: PER_WRITER,
      });
      let writing = true;
      void work.written.finally(() => {
        writing = false;
      });
      // The chaos: while the writers run, kill every backend, then restart (clean and crash).
      const c = cluster;
      assert.ok(c);
      let kills = 0;
      let restarts = 0;
      const modes = ["fast", "immediate"] as const;
      while (writing) {
        const before = work.acknowledged.size;
        kills += await killBackends(c.url);
        c.restart(modes[restarts++ % 2]);
        // Let the writers make progress between blows, so each one lands mid-stream.
        while (writing && work.acknowledged.size < before + 40) {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await work.written;
      assert.ok(restarts >= 2 && kills > 0, `restarts ${restarts}, backends killed ${kills}`);
      await assertNothingLost(rsvpUrl, "chaos", work, WRITERS * PER_WRITER);
    });
  });
}
