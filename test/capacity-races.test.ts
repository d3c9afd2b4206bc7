import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { createResourceClient, createRsvpClient, RpcError } from "../src/client/grpc-client.js";
import type { Queryable } from "../src/db/engine/db.js";
import { openDb } from "../src/db/engine/open.js";
import { QuotaPeriod } from "../src/gen/reservation/resource_pb.js";
import { type CliProcess, killAll, startServe } from "./helpers/cli-process.js";
import { backends, postgresBackends, type TestDatabase } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { freePort } from "./helpers/free-port.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

type Client = ReturnType<typeof createRsvpClient>;

/**
 * How many live reservations start at an instant where more than `capacity` units are in use
 * (use only rises at starts, so these are all the instants to look at).
 */
async function overCapacity(db: Queryable, resourceId: string, capacity: number) {
  const rows = await db.query<{ used: number }>(
    `SELECT (SELECT sum(b.quantity)::int FROM rsvp.reservations AS b
              WHERE b.resource_id = a.resource_id AND b.status <> 'cancelled'
                AND b.occupied @> lower(a.occupied)) AS used
       FROM rsvp.reservations AS a WHERE a.resource_id = $1 AND a.status <> 'cancelled'`,
    [resourceId],
  );
  return rows.filter((r) => r.used > capacity).length;
}

/** Runs the calls at once; returns the ids made and the codes of the failures. */
async function race(calls: Array<() => Promise<{ reservation?: { id: string } }>>) {
  const results = await Promise.allSettled(calls.map((c) => c()));
  const made: string[] = [];
  const codes = new Map<number, number>();
  for (const r of results) {
    if (r.status === "fulfilled") made.push(r.value.reservation?.id ?? "");
    else {
      assert.ok(r.reason instanceof RpcError, String(r.reason));
      codes.set(r.reason.code, (codes.get(r.reason.code) ?? 0) + 1);
    }
  }
  return { made, codes };
}

/** The racing claims, against whatever serves `clients`. */
function racingClaims(get: () => { clients: Client[]; db: Queryable; admin: TestAdmin }) {
  it("200 concurrent reserves of one unit on capacity 10: exactly 10 stored, the rest ALREADY_EXISTS", async () => {
    const { clients, db, admin } = get();
    await admin.put({ resource: { id: "race-seats", capacity: 10 } });
    const { made, codes } = await race(
      Array.from(
        { length: 200 },
        (_, i) => () =>
          (clients[i % clients.length] as Client).reserve({
            reservation: {
              userId: `u${i}`,
              resourceId: "race-seats",
              start: hour(9),
              end: hour(10),
            },
          }),
      ),
    );
    assert.equal(made.length, 10);
    assert.deepEqual([...codes], [[status.ALREADY_EXISTS, 190]]);
    const [stored] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM rsvp.reservations WHERE resource_id = 'race-seats' AND status <> 'cancelled'",
    );
    assert.equal(stored?.n, 10);
  });

  it("mixed quantities and windows racing with cancels never exceed the capacity", async () => {
    const { clients, db, admin } = get();
    await admin.put({ resource: { id: "race-mixed", capacity: 7 } });
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const acknowledged: string[] = [];
    const { codes } = await race(
      Array.from({ length: 150 }, (_, i) => async () => {
        const client = clients[i % clients.length] as Client;
        const from = rand(16) / 2;
        const res = await client.reserve({
          reservation: {
            userId: `u${i % 9}`,
            resourceId: "race-mixed",
            start: hour(from),
            end: hour(from + 0.5 + rand(6) / 2),
            quantity: 1 + rand(4),
          },
        });
        acknowledged.push(res.reservation?.id ?? "");
        if (rand(4) === 0) await client.cancel({ id: res.reservation?.id ?? "" });
        return res;
      }),
    );
    assert.deepEqual(
      [...codes.keys()],
      [status.ALREADY_EXISTS],
      "losers only ever get ALREADY_EXISTS",
    );
    assert.ok(acknowledged.length > 10, `a real mix: ${acknowledged.length} made`);
    assert.equal(await overCapacity(db, "race-mixed", 7), 0);
    const [stored] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rsvp.reservations
        WHERE id IN (SELECT jsonb_array_elements_text($1::text::jsonb)::uuid)`,
      [JSON.stringify(acknowledged)],
    );
    assert.equal(stored?.n, acknowledged.length, "every acknowledged reservation is stored");
  });

  it("50 concurrent reserves by one user against a quota of 3: exactly 3 stored, the rest FAILED_PRECONDITION", async () => {
    const { clients, db, admin } = get();
    await admin.put({
      resource: {
        id: "race-quota",
        capacity: 100,
        rules: { quota: { period: QuotaPeriod.DAY, maxReservations: 3 } },
      },
    });
    const { made, codes } = await race(
      Array.from(
        { length: 50 },
        (_, i) => () =>
          (clients[i % clients.length] as Client).reserve({
            reservation: {
              userId: "greedy",
              resourceId: "race-quota",
              start: hour(8 + (i % 10)),
              end: hour(9 + (i % 10)),
            },
          }),
      ),
    );
    assert.equal(made.length, 3);
    assert.deepEqual([...codes], [[status.FAILED_PRECONDITION, 47]]);
    const [stored] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM rsvp.reservations WHERE resource_id = 'race-quota' AND user_id = 'greedy'",
    );
    assert.equal(stored?.n, 3);
  });

  it("a per-pool quota holds while the user races over every member", async () => {
    const { clients, db, admin } = get();
    const quota = { period: QuotaPeriod.DAY, maxReservations: 2, perPool: true };
    for (const id of ["race-p1", "race-p2", "race-p3"]) {
      await admin.put({ resource: { id, pool: "race-pool", rules: { quota } } });
    }
    const { made, codes } = await race(
      Array.from(
        { length: 30 },
        (_, i) => () =>
          (clients[i % clients.length] as Client).reserve({
            reservation: {
              userId: "pooler",
              resourceId: `race-p${1 + (i % 3)}`,
              start: hour(1 + i / 2),
              end: hour(1.25 + i / 2),
            },
          }),
      ),
    );
    assert.equal(made.length, 2);
    assert.deepEqual([...codes], [[status.FAILED_PRECONDITION, 28]]);
    const [stored] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM rsvp.reservations WHERE user_id = 'pooler'",
    );
    assert.equal(stored?.n, 2);
  });
}

interface TestAdmin {
  put(req: Parameters<ReturnType<typeof createResourceClient>["putResource"]>[0]): Promise<unknown>;
}

for (const backend of backends) {
  describe(`capacity and quota races, one server (${backend.name})`, () => {
    let t: TestServer;
    let clients: Client[];
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
    racingClaims(() => ({
      clients,
      db: t.app.db,
      admin: { put: (req) => t.resources.putResource(req) },
    }));
  });
}

// Two `rsvp serve` processes on one Postgres database: the guarantee is the database's.
for (const backend of postgresBackends) {
  describe(`capacity and quota races, two server processes (${backend.name})`, () => {
    let database: TestDatabase;
    let db: Awaited<ReturnType<typeof openDb>>;
    let servers: CliProcess[];
    let clients: Client[];
    let resources: ReturnType<typeof createResourceClient>;
    before(async () => {
      database = await backend.create();
      if (database.target.kind !== "postgres") throw new Error("a Postgres database");
      const url = database.target.url;
      const ports = [await freePort(), await freePort()];
      // One after the other: the first applies the migrations.
      servers = [];
      for (const port of ports) servers.push(await startServe(port, { DATABASE_URL: url }));
      clients = ports.flatMap((port) =>
        Array.from({ length: 4 }, () =>
          createRsvpClient(`127.0.0.1:${port}`, undefined, { "grpc.use_local_subchannel_pool": 1 }),
        ),
      );
      resources = createResourceClient(`127.0.0.1:${ports[0]}`);
      db = await openDb(database.target);
    });
    after(async () => {
      for (const c of clients) c.close();
      resources.close();
      await db.close();
      await killAll();
      await database.drop();
    });
    racingClaims(() => ({ clients, db, admin: { put: (req) => resources.putResource(req) } }));
  });
}
