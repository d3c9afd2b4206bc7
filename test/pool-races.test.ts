import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { createRsvpClient, RpcError } from "../src/client/grpc-client.js";
import type { Db, Queryable } from "../src/db/engine/db.js";
import { migrate } from "../src/db/engine/migrate.js";
import { openDb } from "../src/db/engine/open.js";
import { reserveGroup } from "../src/db/store/groups.js";
import { type ReserveRequest, reserveMany } from "../src/db/store/reservations.js";
import { putResource } from "../src/db/store/resources.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

// Pool reserves travel in reserve's batches: racing them (with quantities, with plain reserves
// of the same members, batch against batch) never overfills a member, loses an acknowledged
// reservation, or answers a loser with anything but ALREADY_EXISTS.

type Client = ReturnType<typeof createRsvpClient>;

/** Live reservations that start where their resource has more units in use than it holds. */
async function overfilled(db: Queryable, pool: string) {
  const rows = await db.query<{ resource_id: string; used: number; capacity: number }>(
    `SELECT a.resource_id, (SELECT sum(b.quantity)::int FROM rsvp.reservations AS b
                             WHERE b.resource_id = a.resource_id AND b.status <> 'cancelled'
                               AND b.occupied @> lower(a.occupied)) AS used, r.capacity
       FROM rsvp.reservations AS a JOIN rsvp.resources AS r ON r.id = a.resource_id
      WHERE r.pool = $1 AND a.status <> 'cancelled'`,
    [pool],
  );
  return rows.filter((r) => r.used > Math.max(1, r.capacity));
}

/** The stored reservations among `ids`, by id: resource and quantity. */
async function storedOf(db: Queryable, ids: readonly string[]) {
  const rows = await db.query<{ id: string; resource_id: string; quantity: number }>(
    `SELECT id::text, resource_id, quantity FROM rsvp.reservations
      WHERE status <> 'cancelled'
        AND id IN (SELECT jsonb_array_elements_text($1::text::jsonb)::uuid)`,
    [JSON.stringify(ids)],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** A small deterministic generator, so a failure can be replayed. */
function generator(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

for (const backend of backends) {
  describe(`pool reserves racing through the server (${backend.name})`, () => {
    let t: TestServer;
    let clients: Client[];
    before(async () => {
      t = await startTestServer(backend);
      // Separate channels, so the calls really arrive in parallel (and leave in batches).
      clients = Array.from({ length: 8 }, () =>
        createRsvpClient(t.app.grpcAddress, undefined, { "grpc.use_local_subchannel_pool": 1 }),
      );
    });
    after(async () => {
      for (const c of clients) c.close();
      await t.close();
    });

    /** Runs the calls at once; the reservations made and the codes of the failures. */
    async function race(calls: Array<() => Promise<{ reservation?: { id: string } }>>) {
      const results = await Promise.allSettled(calls.map((c) => c()));
      const made: Array<{ id: string; resourceId: string; quantity: number }> = [];
      const codes = new Map<number, number>();
      for (const r of results) {
        if (r.status === "fulfilled") {
          const res = r.value.reservation as { id: string; resourceId: string; quantity: number };
          made.push(res);
        } else {
          assert.ok(r.reason instanceof RpcError, String(r.reason));
          codes.set(r.reason.code, (codes.get(r.reason.code) ?? 0) + 1);
        }
      }
      return { made, codes };
    }

    it("200 pool reserves of one unit at once over exclusive and counted members: every unit taken once, the rest ALREADY_EXISTS", async () => {
      for (const [id, capacity] of [
        ["ra-1", 0],
        ["ra-2", 3],
        ["ra-3", 0],
        ["ra-4", 5],
      ] as const) {
        await t.resources.putResource({ resource: { id, pool: "race-a", capacity } });
      }
      const { made, codes } = await race(
        Array.from(
          { length: 200 },
          (_, i) => () =>
            (clients[i % clients.length] as Client).reserve({
              pool: "race-a",
              reservation: { userId: `u${i}`, start: hour(9), end: hour(10) },
            }),
        ),
      );
      assert.deepEqual([...codes], [[status.ALREADY_EXISTS, 190]]);
      const perMember = new Map<string, number>();
      for (const r of made) perMember.set(r.resourceId, (perMember.get(r.resourceId) ?? 0) + 1);
      assert.deepEqual(
        [...perMember].sort(),
        [
          ["ra-1", 1],
          ["ra-2", 3],
          ["ra-3", 1],
          ["ra-4", 5],
        ],
        "a loser found every member full",
      );
      const stored = await storedOf(
        t.app.db,
        made.map((r) => r.id),
      );
      assert.equal(stored.size, 10, "every acknowledged reservation is stored");
    });

    it("pool reserves with quantities and plain reserves of the members, racing: never over, every acknowledged one stored as answered", async () => {
      const members = [
        ["rb-1", 0],
        ["rb-2", 4],
        ["rb-3", 0],
        ["rb-4", 6],
      ] as const;
      for (const [id, capacity] of members) {
        await t.resources.putResource({ resource: { id, pool: "race-b", capacity } });
      }
      const rand = generator(22);
      const { made, codes } = await race(
        Array.from({ length: 240 }, (_, i) => () => {
          const client = clients[i % clients.length] as Client;
          const from = rand(12) / 2;
          const window = { start: hour(from), end: hour(from + 0.5 + rand(4) / 2) };
          if (i % 4 === 3) {
            // A plain reserve of one member, by its own rules.
            const [id, capacity] = members[rand(members.length)] ?? members[0];
            const quantity = capacity > 1 ? 1 + rand(3) : 1;
            return client.reserve({
              reservation: { userId: `u${i % 7}`, resourceId: id, quantity, ...window },
            });
          }
          return client.reserve({
            pool: "race-b",
            reservation: { userId: `u${i % 7}`, quantity: 1 + rand(3), ...window },
          });
        }),
      );
      assert.deepEqual([...codes.keys()], [status.ALREADY_EXISTS], "losers: ALREADY_EXISTS only");
      assert.ok(made.length > 20, `a real mix: ${made.length} made`);
      assert.ok(
        made.some((r) => r.quantity > 1 && (r.resourceId === "rb-2" || r.resourceId === "rb-4")),
        "quantities above one landed on the counted members",
      );
      assert.ok(
        made.every((r) => r.quantity === 1 || r.resourceId === "rb-2" || r.resourceId === "rb-4"),
        "an exclusive member holds one unit",
      );
      assert.deepEqual(await overfilled(t.app.db, "race-b"), []);
      const stored = await storedOf(
        t.app.db,
        made.map((r) => r.id),
      );
      for (const r of made) {
        const s = stored.get(r.id);
        assert.deepEqual(
          [s?.resource_id, s?.quantity],
          [r.resourceId, r.quantity],
          `acknowledged ${r.id} is stored as answered`,
        );
      }
    });
  });

  describe(`reserve batches with pools racing each other (${backend.name})`, () => {
    let db: Db;
    let drop: () => Promise<void>;
    before(async () => {
      const database = await backend.create();
      drop = database.drop;
      db = await openDb(database.target);
      await migrate(db);
    });
    after(async () => {
      await db.close();
      await drop();
    });

    const spec = (id: string, pool: string, capacity: number, perPoolQuota = false) => ({
      id,
      pool,
      timeZone: "UTC",
      bufferBefore: 0n,
      bufferAfter: 0n,
      note: "",
      capacity,
      rules: perPoolQuota
        ? { quota: { period: "day" as const, maxReservations: 3, perPool: true } }
        : {},
    });
    const HOUR = 3_600_000_000n;
    const BASE = BigInt(Date.UTC(2032, 0, 5)) * 1000n;

    it("batches locking members of several pools, in every order, with groups among them: no deadlock, no error, never over", async () => {
      // Pools x and y, and z whose quota counts the whole pool (its writers lock every member).
      for (const [id, pool, capacity] of [
        ["x-1", "x", 0],
        ["x-2", "x", 3],
        ["x-3", "x", 0],
        ["y-1", "y", 2],
        ["y-2", "y", 0],
        ["y-3", "y", 4],
      ] as const) {
        await putResource(db, spec(id, pool, capacity));
      }
      for (const id of ["z-1", "z-2"]) await putResource(db, spec(id, "z", 2, true));
      const members = { x: ["x-1", "x-2", "x-3"], y: ["y-1", "y-2", "y-3"], z: ["z-1", "z-2"] };
      const exclusive = new Set(["x-1", "x-3", "y-2"]);
      const rand = generator(7);
      // A request of a batch on `side`: plain ones name a member of its own pool, pool ones
      // the other pool (or z), so that two batches of opposite sides each lock, as members,
      // what the other locks as a resource named: only one sorted lock call keeps them apart.
      const request = (side: "x" | "y"): ReserveRequest => {
        const from = BigInt(rand(8));
        const base = {
          userId: `u${rand(3)}`,
          status: "confirmed" as const,
          note: "",
          start: BASE + from * HOUR,
          end: BASE + (from + 1n + BigInt(rand(2))) * HOUR,
          quantity: 1 + rand(2),
        };
        const other = side === "x" ? "y" : "x";
        const pick = rand(5);
        if (pick < 2) return { ...base, resourceId: "", pool: pick === 0 ? other : "z" };
        const own = pick === 2 ? members.z : members[side];
        const resourceId = own[rand(own.length)] ?? "x-1";
        return { ...base, resourceId, quantity: exclusive.has(resourceId) ? 1 : base.quantity };
      };
      const created: string[] = [];
      const kinds = new Set<string>();
      for (let wave = 0; wave < 4; wave++) {
        await Promise.all(
          Array.from({ length: 16 }, async (_, b) => {
            const side = b % 2 === 0 ? "x" : "y";
            if (b % 8 === 7) {
              // A group over pools, taking its locks its own way (rsvp.reserve_group).
              const items = [request(side), request(side)];
              const out = await reserveGroup(db, items, { groupId: undefined, userId: "g" });
              kinds.add(`group:${out.kind}`);
              if (out.kind === "created") created.push(...out.reservations.map((r) => r.id));
              return;
            }
            const batch = Array.from({ length: 6 }, () => request(side));
            const outcomes = await reserveMany(db, batch);
            for (const o of outcomes) {
              kinds.add(o.kind);
              if (o.kind === "created") created.push(o.reservation.id);
            }
          }),
        );
      }
      for (const k of kinds) {
        assert.ok(
          [
            "created",
            "conflict",
            "full",
            "rule",
            "group:created",
            "group:conflict",
            "group:rule",
          ].includes(k),
          `an outcome a racer may get: ${k}`,
        );
      }
      assert.ok(kinds.has("created") && kinds.has("full"), [...kinds].join());
      for (const pool of ["x", "y", "z"]) assert.deepEqual(await overfilled(db, pool), [], pool);
      assert.equal((await storedOf(db, created)).size, created.length);
      const [quota] = await db.query<{ most: number }>(
        `SELECT coalesce(max(n), 0)::int AS most FROM (
           SELECT count(*) AS n FROM rsvp.reservations AS r
            WHERE r.resource_id IN ('z-1', 'z-2') AND r.status <> 'cancelled'
            GROUP BY r.user_id, date_trunc('day', lower(r.timespan) AT TIME ZONE 'UTC')) AS c`,
      );
      assert.ok((quota?.most ?? 0) <= 3, "the per-pool quota held");
    });
  });
}
