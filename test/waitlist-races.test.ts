import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createResourceClient, createRsvpClient } from "../src/client/grpc-client.js";
import type { Queryable } from "../src/db/engine/db.js";
import { openDb } from "../src/db/engine/open.js";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import { killAll, startServe } from "./helpers/cli-process.js";
import { backends, postgresBackends, type TestDatabase } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { freePort } from "./helpers/free-port.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

type Client = ReturnType<typeof createRsvpClient>;
type Catalog = ReturnType<typeof createResourceClient>;

interface Row {
  [column: string]: unknown;
  id: string;
  status: string;
  start: number;
  end: number;
  quantity: number;
}

/** Every reservation of a resource as stored, windows in epoch milliseconds. */
async function stored(db: Queryable, resourceId: string): Promise<Row[]> {
  return db.query<Row>(
    `SELECT id, status::text AS status, extract(epoch FROM lower(timespan)) * 1000 AS start,
            extract(epoch FROM upper(timespan)) * 1000 AS "end", quantity
       FROM rsvp.reservations WHERE resource_id = $1`,
    [resourceId],
  );
}

/** The most units the live rows use at any instant of [start, end). */
function peakUse(live: readonly Row[], start: number, end: number): number {
  const instants = [start, ...live.map((r) => Number(r.start)).filter((t) => t > start && t < end)];
  return Math.max(
    ...instants.map((t) =>
      live
        .filter((r) => Number(r.start) <= t && t < Number(r.end))
        .reduce((sum, r) => sum + r.quantity, 0),
    ),
  );
}

/**
 * The guarantees, checked on the stored state by this test's own model: the live rows never
 * use more than `capacity` at any instant, and no waiting reservation would fit (every free
 * handed its room on). Returns how many ended live and waiting.
 */
async function assertSettled(db: Queryable, resourceId: string, capacity: number) {
  const rows = await stored(db, resourceId);
  const live = rows.filter((r) => ["pending", "confirmed", "blocked"].includes(r.status));
  for (const r of live) {
    assert.ok(peakUse(live, Number(r.start), Number(r.end)) <= capacity, `over at ${r.id}`);
  }
  const waiting = rows.filter((r) => r.status === "waiting");
  for (const w of waiting) {
    const peak = peakUse(live, Number(w.start), Number(w.end));
    assert.ok(peak + w.quantity > capacity, `waiting ${w.id} fits: a free was not handed on`);
  }
  return { live: live.length, waiting: waiting.length };
}

/** A small deterministic generator, so that a failure can be replayed. */
function lcg(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
}

/** Books the fixtures, then races waits, cancels of the fixtures and cancels of waits. */
async function raceOn(
  clients: Client[],
  catalog: Catalog,
  resourceId: string,
  capacity: number,
  seed: number,
) {
  await catalog.putResource({ resource: { id: resourceId, capacity } });
  const pick = lcg(seed);
  const client = (i: number) => clients[i % clients.length] as Client;
  const window = () => {
    const start = 9 + pick(12) / 2;
    return { start: hour(start), end: hour(start + (1 + pick(4)) / 2) };
  };
  const quantity = () => (capacity > 1 ? 1 + pick(2) : 0);
  const fixtures: string[] = [];
  for (let i = 0; i < 6; i++) {
    const made = await client(i)
      .reserve({
        reservation: {
          userId: "owner",
          resourceId,
          ...window(),
          status: S.CONFIRMED,
          quantity: quantity(),
        },
        wait: true,
      })
      .then((r) => r.reservation);
    if (made && made.status !== S.WAITING) fixtures.push(made.id);
  }
  const calls: Array<() => Promise<unknown>> = [];
  for (let i = 0; i < 48; i++) {
    const w = window();
    const q = quantity();
    const status = pick(2) === 0 ? S.CONFIRMED : S.PENDING;
    calls.push(async () => {
      const { reservation } = await client(i).reserve({
        reservation: { userId: `u${i}`, resourceId, ...w, status, quantity: q },
        wait: true,
      });
      assert.ok(reservation);
      // Every fourth gives up again at once, whatever it got.
      if (i % 4 === 0) await client(i + 1).cancel({ id: reservation.id, reason: "changed plans" });
    });
  }
  fixtures.forEach((id, i) => {
    calls.splice(i * 8, 0, () => client(i).cancel({ id }));
  });
  const results = await Promise.allSettled(calls.map((c) => c()));
  const failed = results.filter((r) => r.status === "rejected");
  assert.deepEqual(failed, [], "every wait and cancel is answered OK");
}

function racingWaits(get: () => { clients: Client[]; db: Queryable; catalog: Catalog }) {
  it("waits and cancels racing on an exclusive resource: no overlap, and nothing left waiting that fits", async () => {
    const { clients, db, catalog } = get();
    for (const seed of [1, 2, 3]) {
      await raceOn(clients, catalog, `race-room-${seed}`, 1, seed);
      const { live, waiting } = await assertSettled(db, `race-room-${seed}`, 1);
      assert.ok(live > 0 && waiting > 0, `both kinds left (${live} live, ${waiting} waiting)`);
    }
  });

  it("waits and cancels racing on a counted resource: never over capacity, nothing left waiting that fits", async () => {
    const { clients, db, catalog } = get();
    for (const seed of [4, 5, 6]) {
      await raceOn(clients, catalog, `race-desks-${seed}`, 3, seed);
      const { live, waiting } = await assertSettled(db, `race-desks-${seed}`, 3);
      assert.ok(live > 0 && waiting > 0, `both kinds left (${live} live, ${waiting} waiting)`);
    }
  });
}

for (const backend of backends) {
  describe(`waitlist races, one server (${backend.name})`, () => {
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
    racingWaits(() => ({ clients, db: t.app.db, catalog: t.resources }));
  });
}

// Two `rsvp serve` processes on one Postgres database: the guarantee is the database's.
for (const backend of postgresBackends) {
  describe(`waitlist races, two server processes (${backend.name})`, () => {
    let database: TestDatabase;
    let db: Awaited<ReturnType<typeof openDb>>;
    let clients: Client[];
    let catalog: Catalog;
    before(async () => {
      database = await backend.create();
      if (database.target.kind !== "postgres") throw new Error("a Postgres database");
      const url = database.target.url;
      const ports = [await freePort(), await freePort()];
      // One after the other: the first applies the migrations.
      for (const port of ports) await startServe(port, { DATABASE_URL: url });
      clients = ports.flatMap((port) =>
        Array.from({ length: 4 }, () =>
          createRsvpClient(`127.0.0.1:${port}`, undefined, { "grpc.use_local_subchannel_pool": 1 }),
        ),
      );
      catalog = createResourceClient(`127.0.0.1:${ports[0]}`);
      db = await openDb(database.target);
    });
    after(async () => {
      for (const c of clients) c.close();
      catalog.close();
      await db.close();
      await killAll();
      await database.drop();
    });
    racingWaits(() => ({ clients, db, catalog }));
  });
}
