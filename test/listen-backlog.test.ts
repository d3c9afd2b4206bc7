import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import postgres from "postgres";
import { createRsvpClient, RpcError, type RsvpClient } from "../src/client/grpc-client.js";
import { backends, postgresBackends } from "./helpers/databases.js";
import { collect, hour, rejectsWith } from "./helpers/fixtures.js";
import { captureLog, eventually, startServer } from "./helpers/harness.js";
import { collectListen } from "./helpers/listener.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const reservation = (resourceId: string, h: number) => ({
  reservation: { userId: "u", resourceId, start: hour(h), end: hour(h + 1) },
});

const reserveAt = (client: RsvpClient, resourceId: string, h: number, userId = "u") =>
  client.reserve({ reservation: { userId, resourceId, start: hour(h), end: hour(h + 1) } });

// A listener too slow to keep up, and history pruned under it: nothing lost, on both backends.
for (const backend of backends) {
  describe(`change feed backlog (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, { maxQueue: 5 });
    });
    after(() => t.close());

    it("a listener that stops reading overflows its queue and catches up by itself, in order", async () => {
      // In memory (the recent window) on this server; from the database on one that keeps none.
      const other = await t.startAnother({ maxQueue: 5, recentChanges: 1 });
      try {
        // startAnother shares the database on Postgres; an embedded one gets its own.
        for (const { app, client } of [t, other]) {
          const resourceId = app === t.app ? "slow-memory" : "slow-database";
          const stalled = new AbortController();
          const sub = await app.feed.open({ resourceId }, undefined, {
            signal: stalled.signal,
          });
          const watcher = collectListen(client, { resourceId });
          await watcher.opened;
          const ids: string[] = [];
          for (let h = 0; h < 40; h++) {
            const r = await reserveAt(client, resourceId, h);
            ids.push(r.reservation?.id ?? "");
          }
          // Once the watcher has all 40, the feed has offered them to the stalled one too.
          await watcher.waitFor(40);
          watcher.stop();
          const got: string[] = [];
          for await (const item of sub) {
            if (item.kind === "change") got.push(item.change.reservation.id);
            if (got.length === ids.length) break;
          }
          stalled.abort();
          assert.deepEqual(got, ids);
        }
      } finally {
        await other.close();
      }
    });

    it("scheduled pruning removes old history in batches and moves the horizon", async () => {
      const p = await startTestServer(backend, {
        retentionSeconds: 1,
        pruneBatch: 5,
        pruneIntervalMs: 50,
      });
      try {
        const l = collectListen(p.client, { resourceId: "sched" });
        await l.opened;
        for (let h = 0; h < 12; h++) await reserveAt(p.client, "sched", h);
        const events = await l.waitFor(12);
        l.stop();
        await eventually(async () => {
          const [row] = await p.app.db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM rsvp.reservation_changes WHERE resource_id = 'sched'",
          );
          return row?.n === 0;
        }, "the old changes pruned");
        await rejectsWith(
          collect(p.client.listen({ cursor: events[0]?.cursor ?? "" })),
          status.OUT_OF_RANGE,
        );
      } finally {
        await p.close();
      }
    });
  });
}

// Stalls come from other sessions of a real server: these run on Postgres only.
for (const backend of postgresBackends) {
  describe(`change feed stalls (${backend.name})`, () => {
    let t: TestServer;
    let url: string;
    let sql: postgres.Sql;
    before(async () => {
      t = await startTestServer(backend, { pollIntervalMs: 0 });
      url = t.database.target.kind === "postgres" ? t.database.target.url : "";
      sql = postgres(url, { max: 2, onnotice: () => {} });
    });
    after(async () => {
      await sql.end();
      await t.close();
    });

    it("a foreign write transaction held open, here or in another database, delays no event", async () => {
      const other = new URL(url);
      other.pathname = "/postgres";
      for (const [where, target] of [
        ["this database", url],
        ["another database", other.toString()],
      ] as const) {
        const foreign = postgres(target, { max: 1, onnotice: () => {} });
        const table = `foreign_${randomUUID().replaceAll("-", "")}`;
        try {
          await foreign.unsafe(`CREATE TABLE ${table} (x int)`);
          let release = () => {};
          const heard = new Promise<void>((resolve) => {
            release = resolve;
          });
          let opened = () => {};
          const open = new Promise<void>((resolve) => {
            opened = resolve;
          });
          const held = foreign.begin(async (tx) => {
            await tx.unsafe(`INSERT INTO ${table} VALUES (1)`);
            opened(); // it has its transaction id, and stays open until the events arrived
            await heard;
          });
          const resourceId = `stall-${where.replaceAll(" ", "-")}`;
          const l = collectListen(t.client, { resourceId });
          await l.opened;
          await open;
          for (let h = 0; h < 5; h++) await t.client.reserve(reservation(resourceId, h));
          const events = await l.waitFor(5);
          assert.equal(events.length, 5, `${where}: events arrive while it is open`);
          release();
          await held;
          l.stop();
        } finally {
          await foreign.unsafe(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
          await foreign.end();
        }
      }
    });

    it("an rsvp writer held open holds back what commits after it, says so, and lets go in order", async () => {
      const { log, lines } = captureLog("warn");
      const app = await startServer(t.database.target, { log, feed: { stallWarnMs: 100 } });
      const writer = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const client = createRsvpClient(app.grpcAddress);
        const l = collectListen(client, { userId: "u" });
        await l.opened;
        const request = JSON.stringify([
          {
            id: randomUUID(),
            user_id: "u",
            resource_id: "held-a",
            status: "pending",
            start_at: "2030-01-01T00:00:00Z",
            end_at: "2030-01-01T01:00:00Z",
            note: "",
          },
        ]);
        await writer.unsafe("BEGIN");
        await writer.unsafe("SELECT rsvp.reserve($1::text::jsonb)", [request]);
        const [pid] = await writer.unsafe<{ pid: number }[]>("SELECT pg_backend_pid() AS pid");
        await client.reserve(reservation("held-b", 1));
        const warning = await eventually(
          () => lines.find((line) => line.msg.startsWith("change feed held back")),
          "the stall warning",
        );
        assert.equal(warning.pid, pid?.pid, "the warning names the holder's pid");
        assert.ok(app.feed.lagMs >= 100, `lag rises while held (${app.feed.lagMs} ms)`);
        assert.equal(l.events.length, 0, "the later change waits for the older writer");
        await writer.unsafe("COMMIT");
        const events = await l.waitFor(2);
        assert.deepEqual(
          events.map((e) => e.reservation?.resourceId),
          ["held-a", "held-b"],
        );
        l.stop();
        client.close();
      } finally {
        await writer.end();
        await app.close();
      }
    });

    it("a feed that fell behind the retained history ends its listeners with OUT_OF_RANGE, and says so", async () => {
      const { log, lines } = captureLog("error");
      const app = await startServer(t.database.target, { log, feed: { pollIntervalMs: 0 } });
      const client = createRsvpClient(app.grpcAddress);
      const pruner = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const l = collectListen(client, { resourceId: "behind" });
        await l.opened;
        // Hold every feed read of the database while changes are written and then pruned
        // past the feed's position, as a feed stuck longer than the retention would be.
        await pruner.begin(async (tx) => {
          await tx`LOCK TABLE rsvp.change_horizon IN ACCESS EXCLUSIVE MODE`;
          for (let h = 0; h < 3; h++) await t.client.reserve(reservation("behind", h));
          await tx`UPDATE rsvp.change_horizon AS h SET xid = c.xid, seq = c.seq
                     FROM (SELECT xid, seq FROM rsvp.reservation_changes
                            WHERE resource_id = 'behind' ORDER BY xid DESC, seq DESC LIMIT 1) AS c`;
          await tx`DELETE FROM rsvp.reservation_changes WHERE resource_id = 'behind'`;
        });
        const err = await l.ended;
        assert.ok(err instanceof RpcError, `the stream ended with ${String(err)}`);
        assert.equal(err.code, status.OUT_OF_RANGE);
        assert.equal(l.events.length, 0, "nothing delivered out of a history with a hole");
        assert.ok(lines.some((line) => line.msg.includes("fell behind the retained history")));
        client.close();
      } finally {
        await pruner.end();
        await app.close();
      }
    });

    it("pruning a 200k-row history in batches while writers run loses and delays nothing", async () => {
      // Old history below everything live, as if written long ago.
      await sql`INSERT INTO rsvp.reservation_changes
                  (xid, op, id, user_id, status, resource_id, timespan, note, created_at,
                   updated_at, committed_at)
                SELECT '3'::xid8, 'create', gen_random_uuid(), 'old', 'confirmed', 'old',
                       tstzrange(now(), now() + interval '1 hour'), '', now(), now(),
                       now() - interval '30 days'
                  FROM generate_series(1, 200000)`;
      const l = collectListen(t.client, { resourceId: "during-prune" });
      await l.opened;
      const pruner = await t.startAnother({ pruneBatch: 5000 });
      try {
        const ids: string[] = [];
        let h = 0;
        let left = 1;
        while (left > 0) {
          const r = await t.client.reserve(reservation("during-prune", h++));
          ids.push(r.reservation?.id ?? "");
          [{ left }] = (await sql`SELECT count(*)::int AS left FROM rsvp.reservation_changes
                                   WHERE user_id = 'old'`) as unknown as [{ left: number }];
        }
        const events = await l.waitFor(ids.length);
        assert.deepEqual(
          events.map((e) => e.reservation?.id),
          ids,
        );
        assert.ok(ids.length > 1, "writes ran while the history was pruned");
        l.stop();
      } finally {
        await pruner.close();
      }
    });
  });
}
