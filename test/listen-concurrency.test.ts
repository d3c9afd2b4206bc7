import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import postgres from "postgres";
import { createRsvpClient, RpcError, type RsvpClient } from "../src/client/grpc-client.js";
import { ReservationUpdateType as Op } from "../src/gen/reservation/reservation_pb.js";
import { postgresBackends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { eventually } from "./helpers/harness.js";
import { collectListen, eventsBefore } from "./helpers/listener.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const iso = (h: number) => new Date(Date.UTC(2030, 0, 1) + h * 3_600_000).toISOString();
const request = (resourceId: string, h: number) =>
  JSON.stringify([
    {
      id: randomUUID(),
      user_id: "u",
      resource_id: resourceId,
      status: "pending",
      start_at: iso(h),
      end_at: iso(h + 1),
      note: "",
    },
  ]);

// These guarantees are about real concurrency, dropped connections and several processes.
for (const backend of postgresBackends) {
  describe(`listen guarantees (${backend.name})`, () => {
    let t: TestServer;
    let sql: postgres.Sql;
    let url: string;
    before(async () => {
      // No safety poll: recovery must come from the mechanisms themselves.
      t = await startTestServer(backend, { pollIntervalMs: 0 });
      url = t.database.target.kind === "postgres" ? t.database.target.url : "";
      sql = postgres(url, {
        max: 4,
        onnotice: () => {},
        connection: { application_name: "rsvp-test" },
      });
    });
    after(async () => {
      await sql.end();
      await t.close();
    });

    const idsOf = (resourcePrefix: string) =>
      sql<
        { id: string }[]
      >`SELECT id FROM rsvp.reservations WHERE resource_id LIKE ${`${resourcePrefix}%`}`.then(
        (rows) => rows.map((r) => r.id),
      );

    it("no event is skipped when transactions commit in the opposite order of their ids", async () => {
      // A server of its own (closed with t): its feed has delivered nothing yet, so its lag
      // rises only while it holds a change back.
      const own = await t.startAnother({ pollIntervalMs: 0 });
      const l = collectListen(own.client, { userId: "u" });
      await l.opened;
      const older = postgres(url, { max: 1, onnotice: () => {} });
      const newer = postgres(url, { max: 1, onnotice: () => {} });
      try {
        // `older` takes its transaction id first but writes its change row last.
        await older.unsafe("BEGIN");
        await older.unsafe("SELECT pg_current_xact_id()");
        await newer.unsafe("BEGIN");
        await newer.unsafe("SELECT rsvp.reserve($1::text::jsonb)", [request("ooo-b", 1)]);
        await older.unsafe("SELECT rsvp.reserve($1::text::jsonb)", [request("ooo-a", 1)]);
        await newer.unsafe("COMMIT");
        // The feed has read since the newer change committed, and holds it back.
        await eventually(() => own.app.feed.lagMs > 0, "the feed to hold the newer change back");
        assert.equal(
          l.events.length,
          0,
          "the newer change waits while an older transaction is open",
        );
        await older.unsafe("COMMIT");
        const events = await l.waitFor(2);
        assert.deepEqual(
          events.map((e) => e.reservation?.resourceId),
          ["ooo-a", "ooo-b"],
        );
        const before = await eventsBefore(l, () =>
          t.client.reserve({
            reservation: { userId: "u", resourceId: "ooo-mark", start: hour(1), end: hour(2) },
          }),
        );
        assert.equal(before.length, 2, "each exactly once");
      } finally {
        l.stop();
        await older.end();
        await newer.end();
      }
    });

    it("an aborted older transaction does not hold back later changes", async () => {
      const l = collectListen(t.client, { resourceId: "abort-b" });
      await l.opened;
      const older = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await older.unsafe("BEGIN");
        await older.unsafe("SELECT rsvp.reserve($1::text::jsonb)", [request("abort-a", 1)]);
        await sql.unsafe("SELECT rsvp.reserve($1::text::jsonb)", [request("abort-b", 1)]);
        await older.unsafe("ROLLBACK"); // sends no NOTIFY: the feed must notice on its own
        const [e] = await l.waitFor(1);
        assert.equal(e?.reservation?.resourceId, "abort-b");
      } finally {
        l.stop();
        await older.end();
      }
    });

    it("a client reconnecting with its last cursor gets exactly what it missed, under load", async () => {
      const first = collectListen(t.client, { userId: "rc" });
      await first.opened;
      const writes = Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          t.client.reserve({
            reservation: {
              userId: "rc",
              resourceId: `rc-${i % 30}`,
              start: hour(i),
              end: hour(i + 1),
            },
          }),
        ),
      );
      await first.waitFor(50);
      first.stop();
      const seen = [...first.events];
      const last = seen.at(-1)?.cursor ?? "";
      const second = collectListen(t.client, { userId: "rc", cursor: last });
      await writes;
      await second.waitFor(300 - seen.length, 30_000);
      const rest = await eventsBefore(second, () =>
        t.client.reserve({
          reservation: { userId: "rc", resourceId: "rc-mark", start: hour(1), end: hour(2) },
        }),
      );
      second.stop();
      const all = [...seen, ...rest].map((e) => e.reservation?.id);
      assert.equal(all.length, 300);
      assert.equal(new Set(all).size, 300, "no event twice");
    });

    it("a change made through one server process reaches listeners on another", async () => {
      const other = await t.startAnother({ pollIntervalMs: 0 });
      const onB = collectListen(other.client, { resourceId: "multi" });
      const onA = collectListen(t.client, { resourceId: "multi" });
      await Promise.all([onA.opened, onB.opened]);
      await t.client.reserve({
        reservation: { userId: "u", resourceId: "multi", start: hour(1), end: hour(2) },
      });
      await other.client.reserve({
        reservation: { userId: "u", resourceId: "multi", start: hour(2), end: hour(3) },
      });
      const b = await onB.waitFor(2);
      const a = await onA.waitFor(2);
      onA.stop();
      onB.stop();
      assert.deepEqual(
        a.map((e) => e.cursor),
        b.map((e) => e.cursor),
        "same events, same order, same cursors",
      );
    });

    it("500 concurrent reserves with 20 listeners open: each listener receives exactly the 500 creates", async () => {
      const listeners = Array.from({ length: 20 }, () =>
        collectListen(t.client, { userId: "burst" }),
      );
      await Promise.all(listeners.map((l) => l.opened));
      const clients: RsvpClient[] = Array.from({ length: 8 }, () =>
        createRsvpClient(t.app.grpcAddress, undefined, { "grpc.use_local_subchannel_pool": 1 }),
      );
      try {
        const made = await Promise.all(
          Array.from({ length: 500 }, (_, i) =>
            clients[i % 8]?.reserve({
              reservation: {
                userId: "burst",
                resourceId: `burst-${i % 50}`,
                start: hour(i),
                end: hour(i + 1),
              },
            }),
          ),
        );
        const ids = new Set(made.map((m) => m?.reservation?.id));
        assert.equal(ids.size, 500);
        for (const l of listeners) {
          const events = await l.waitFor(500, 30_000);
          assert.ok(events.every((e) => e.op === Op.CREATE));
          assert.deepEqual(new Set(events.map((e) => e.reservation?.id)), ids);
        }
        const mark = t.client.reserve({
          reservation: { userId: "burst", resourceId: "burst-mark", start: hour(1), end: hour(2) },
        });
        for (const l of listeners)
          assert.equal((await eventsBefore(l, () => mark)).length, 500, "exactly once");
        // Every listener saw the same order: the log's order.
        const order = listeners[0]?.events.map((e) => e.cursor);
        for (const l of listeners)
          assert.deepEqual(
            l.events.map((e) => e.cursor),
            order,
          );
      } finally {
        for (const l of listeners) l.stop();
        for (const c of clients) c.close();
      }
    });
    // Last: it leaves killed pooled connections behind, which the next call would meet.
    it("killing the database connections mid-stream loses and repeats nothing", async () => {
      const l = collectListen(t.client, { resourceId: "" });
      await l.opened;
      const kill = async (which: "listener" | "all") => {
        const filter = which === "listener" ? "AND query ILIKE 'listen%'" : "";
        // The listener reconnects within milliseconds; wait for it so every round kills something.
        for (let i = 0; i < 100; i++) {
          const rows = await sql.unsafe(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'rsvp' ${filter}`,
          );
          if (rows.length > 0) return rows;
          await new Promise((r) => setTimeout(r, 10));
        }
        return [];
      };
      let retries = 0;
      // A client retries UNAVAILABLE; ALREADY_EXISTS on a retry means the first attempt committed.
      const reserveWithRetry = async (resourceId: string, h: number) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await t.client.reserve({
              reservation: { userId: "k", resourceId, start: hour(h), end: hour(h + 1) },
            });
          } catch (err) {
            if (attempt > 0 && err instanceof RpcError && err.code === status.ALREADY_EXISTS)
              return;
            if (!(err instanceof RpcError && err.code === status.UNAVAILABLE) || attempt > 20)
              throw err;
            retries++;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      };
      const kills: Array<Promise<unknown[]>> = [];
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) => reserveWithRetry(`kill-${i}`, round)),
        );
        // Kill while the next round is already in flight.
        kills.push(
          new Promise((r) => setTimeout(r, 5)).then(() =>
            kill(round % 2 === 0 ? "listener" : "all"),
          ),
        );
      }
      const killed = (await Promise.all(kills)).map((rows) => rows.length);
      assert.ok(
        killed.every((n) => n >= 1),
        `each round killed connections: ${killed.join(",")}`,
      );
      const stored = await idsOf("kill-");
      assert.equal(stored.length, 300, `every write landed (after ${retries} retries)`);
      await l.waitFor(stored.length, 30_000);
      // The mark carries a key: a retry after a lost answer still returns its reservation.
      const mark = async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await t.client.reserve({
              reservation: { userId: "k", resourceId: "mark", start: hour(1), end: hour(2) },
              requestId: "kill-mark",
            });
          } catch (err) {
            if (!(err instanceof RpcError && err.code === status.UNAVAILABLE) || attempt > 20)
              throw err;
          }
        }
      };
      const before = await eventsBefore(l, mark, 30_000);
      l.stop();
      const got = before.filter((e) => e.reservation?.resourceId.startsWith("kill-"));
      assert.equal(got.length, stored.length, "every stored change arrives, none twice");
      assert.deepEqual(new Set(got.map((e) => e.reservation?.id)), new Set(stored));
      assert.ok(got.every((e) => e.op === Op.CREATE));
    });
  });
}
