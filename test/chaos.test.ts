import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import postgres from "postgres";
import { resumableListen } from "../src/cli/resumable-listen.js";
import { createRsvpClient, RpcError, type RsvpClient } from "../src/client/grpc-client.js";
import { ReservationUpdateType as Op } from "../src/gen/reservation/reservation_pb.js";
import { type App, startApp } from "../src/server/app.js";
import { createLogger } from "../src/server/logger.js";
import { postgresBackends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { type OwnCluster, startOwnCluster } from "./helpers/own-cluster.js";

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
      app = await startApp({
        config: {
          host: "127.0.0.1",
          port: 0,
          httpPort: 0,
          database: { kind: "postgres", url: rsvpUrl },
          retentionSeconds: 3600,
        },
        log: createLogger(process.env.TEST_LOG_LEVEL ?? "silent"),
        feed: { pollIntervalMs: 200 },
      });
      client = createRsvpClient(app.grpcAddress);
    });
    after(async () => {
      client?.close();
      await app?.close();
      cluster?.stop();
    });

    it("nothing acknowledged is lost, every acknowledged create is heard once, errors are UNAVAILABLE", async () => {
      const errors: number[] = [];
      const heard: string[] = [];
      const listening = new AbortController();
      let opened!: () => void;
      const firstOpen = new Promise<void>((resolve) => {
        opened = resolve;
      });
      const listener = (async () => {
        const events = resumableListen(
          client,
          { resourceId: "", userId: "chaos", cursor: "" },
          {
            signal: listening.signal,
            onOpen: () => opened(),
            onRetry: (err) => errors.push(err?.code ?? status.OK),
          },
        );
        for await (const e of events) {
          if (e.op === Op.CREATE && e.reservation) heard.push(e.reservation.id);
        }
      })();
      await firstOpen;

      const acknowledged = new Set<string>();
      let writing = true;
      const writer = async (w: number) => {
        for (let i = 0; i < PER_WRITER; i++) {
          // One key per reservation: a retry after a lost answer gets the first attempt's.
          const req = {
            reservation: {
              userId: "chaos",
              resourceId: `chaos-${w}`,
              start: hour(i),
              end: hour(i + 1),
            },
            requestId: `w${w}-${i}`,
          };
          for (;;) {
            try {
              const { reservation } = await client.reserve(req, { deadlineMs: 30_000 });
              assert.ok(reservation);
              acknowledged.add(reservation.id);
              break;
            } catch (err) {
              if (!(err instanceof RpcError)) throw err;
              errors.push(err.code);
              if (err.code !== status.UNAVAILABLE) throw err;
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        }
      };
      const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w))).finally(
        () => {
          writing = false;
        },
      );
      // The chaos: while the writers run, kill every backend, then restart (clean and crash).
      const c = cluster;
      assert.ok(c);
      let kills = 0;
      let restarts = 0;
      const modes = ["fast", "immediate"] as const;
      while (writing) {
        const before = acknowledged.size;
        kills += await killBackends(c.url);
        c.restart(modes[restarts++ % 2]);
        // Let the writers make progress between blows, so each one lands mid-stream.
        while (writing && acknowledged.size < before + 40) {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await writers;
      assert.ok(restarts >= 2 && kills > 0, `restarts ${restarts}, backends killed ${kills}`);

      const sql = postgres(rsvpUrl, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql<{ id: string }[]>`
          SELECT id::text FROM rsvp.reservations WHERE user_id = 'chaos'`;
        const stored = new Set(rows.map((r) => r.id));
        assert.equal(acknowledged.size, WRITERS * PER_WRITER);
        for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged ${id} stored`);
        assert.equal(stored.size, acknowledged.size, "no stray rows: retries replayed");
      } finally {
        await sql.end();
      }
      // Heard: wait on the condition itself, then stop.
      const giveUp = Date.now() + 60_000;
      while (new Set(heard).size < acknowledged.size && Date.now() < giveUp) {
        await new Promise((r) => setTimeout(r, 50));
      }
      listening.abort();
      await listener;
      assert.deepEqual(new Set(heard), acknowledged, "every acknowledged create heard");
      assert.equal(heard.length, acknowledged.size, "each once");
      assert.deepEqual(
        [...new Set(errors)].filter((code) => code !== status.UNAVAILABLE && code !== status.OK),
        [],
        "errors only UNAVAILABLE (or a stream that ended)",
      );
    });
  });
}
