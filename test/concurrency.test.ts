import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { createRsvpClient, RpcError } from "../src/client/grpc-client.js";
import { postgresBackends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const OVERLAPS_SQL = `SELECT count(*)::int AS n FROM rsvp.reservations a JOIN rsvp.reservations b
  ON a.resource_id = b.resource_id AND a.id < b.id AND a.timespan && b.timespan
  WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'`;

// Real concurrency needs a real server: PGlite runs one statement at a time.
for (const backend of postgresBackends) {
  describe(`concurrency (${backend.name})`, () => {
    let t: TestServer;
    let clients: ReturnType<typeof createRsvpClient>[];
    before(async () => {
      t = await startTestServer(backend);
      // Separate channels, so the calls really arrive in parallel.
      clients = Array.from({ length: 8 }, () =>
        createRsvpClient(t.app.grpcAddress, undefined, { "grpc.use_local_subchannel_pool": 1 }),
      );
    });
    after(async () => {
      for (const c of clients) c.close();
      await t.close();
    });

    it("200 concurrent reserves of one window: exactly one wins, 199 get ALREADY_EXISTS", async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          clients[i % clients.length]?.reserve({
            reservation: {
              userId: `user-${i}`,
              resourceId: "hot-room",
              start: hour(9),
              end: hour(10),
            },
          }),
        ),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      assert.equal(won.length, 1);
      assert.equal(lost.length, 199);
      for (const e of lost) {
        assert.ok(e instanceof RpcError, String(e));
        assert.equal(e.code, status.ALREADY_EXISTS, e.message);
      }
      const rows = await t.app.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM rsvp.reservations WHERE resource_id = 'hot-room'",
      );
      assert.equal(rows[0]?.n, 1);
    });

    it("mixed random concurrent reserves and cancels never leave two live rows overlapping", async () => {
      let seed = 42;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const ok: string[] = [];
      let conflicts = 0;
      await Promise.all(
        Array.from({ length: 400 }, async (_, i) => {
          const from = rand(200) / 4;
          const client = clients[i % clients.length];
          assert.ok(client);
          try {
            const res = await client.reserve({
              reservation: {
                userId: `u${i % 7}`,
                resourceId: `mixed-${rand(4)}`,
                start: hour(from),
                end: hour(from + 0.25 + rand(12) / 4),
              },
            });
            const id = res.reservation?.id ?? "";
            ok.push(id);
            if (rand(3) === 0) await client.cancel({ id });
          } catch (err) {
            assert.ok(err instanceof RpcError && err.code === status.ALREADY_EXISTS, String(err));
            assert.ok(err.conflict, "conflict detail present");
            conflicts++;
          }
        }),
      );
      assert.ok(
        ok.length > 20 && conflicts > 20,
        `a real mix: ${ok.length} ok, ${conflicts} conflicts`,
      );
      const [overlaps] = await t.app.db.query<{ n: number }>(OVERLAPS_SQL);
      assert.equal(overlaps?.n, 0);
      const [stored] = await t.app.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM rsvp.reservations
          WHERE id IN (SELECT jsonb_array_elements_text($1::text::jsonb)::uuid)`,
        [JSON.stringify(ok)],
      );
      assert.equal(stored?.n, ok.length, "every acknowledged reservation is stored");
    });
  });
}
