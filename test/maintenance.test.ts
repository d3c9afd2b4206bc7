import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Db } from "../src/db/engine/db.js";
import { migrate } from "../src/db/engine/migrate.js";
import { openDb } from "../src/db/engine/open.js";
import { reserveMany } from "../src/db/store/reservations.js";
import type { NewReservation } from "../src/domain/reservation.js";
import { backends, type TestDatabase } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const HOUR_US = 3_600_000_000n;
const at = (h: number) => BigInt(Date.UTC(2030, 0, 1)) * 1000n + BigInt(h) * HOUR_US;

/** Polls `condition` until it holds (fails after `timeoutMs`). */
async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000) {
  const giveUp = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUp) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const backend of backends) {
  describe(`the reserve plan does not need fresh statistics (${backend.name})`, () => {
    let database: TestDatabase;
    let db: Db;
    before(async () => {
      database = await backend.create();
      db = await openDb(database.target);
      await migrate(db);
      // Statistics taken while the tables were empty, then 20,000 rows and as many keys.
      await db.exec("ANALYZE");
      await db.exec(`
        INSERT INTO rsvp.reservations (id, user_id, resource_id, status, timespan, note, expires_at)
        SELECT gen_random_uuid(), 'u', 'r' || (g % 200), 'pending',
               tstzrange('2030-01-01Z'::timestamptz + g * interval '1 hour',
                         '2030-01-01Z'::timestamptz + g * interval '1 hour' + interval '30 min'),
               '', CASE WHEN g % 200 = 3 THEN now() - interval '1 minute' END
          FROM generate_series(1, 20000) AS g;
        INSERT INTO rsvp.reserve_requests (user_id, request_id, request_hash, reservation_id)
        SELECT user_id, 'k-' || id, 'h', id FROM rsvp.reservations;`);
    });
    after(async () => {
      await db.close();
      await database.drop();
    });

    it("a batch of 64 (new, replayed-key, clashing, over an expired hold) scans no table", async () => {
      const requests: NewReservation[] = Array.from({ length: 64 }, (_, i) => ({
        userId: "u",
        resourceId: `r${i}`,
        status: "pending",
        // i = 3: over the expired hold of r3 at hour 3; i = 5: clashes with r5's at hour 5.
        start: i === 3 || i === 5 ? at(i) : at(30_000 + i),
        end: i === 3 || i === 5 ? at(i) + HOUR_US / 2n : at(30_000 + i) + HOUR_US,
        note: "",
        expiresAt: undefined,
        holdSeconds: i % 4 === 0 ? 60 : undefined,
        requestId: `new-${i}`,
      }));
      const { outcomes, scans } = await db.transaction(async (tx) => {
        const outcomes = await reserveMany(tx, requests);
        const scans = await tx.query<{ relname: string; seq_scan: number | bigint }>(
          `SELECT relname, seq_scan FROM pg_stat_xact_user_tables
            WHERE schemaname = 'rsvp' AND relname IN ('reservations', 'reserve_requests')`,
        );
        return { outcomes, scans };
      });
      assert.equal(outcomes[3]?.kind, "created", "the expired hold was released");
      assert.equal(outcomes[5]?.kind, "conflict");
      assert.equal(outcomes.filter((o) => o.kind === "created").length, 63);
      assert.deepEqual(
        scans.map((s) => [s.relname, Number(s.seq_scan)]).sort(),
        [
          ["reservations", 0],
          ["reserve_requests", 0],
        ],
        "index scans only",
      );
    });
  });
}

describe("the embedded database keeps its statistics", () => {
  const embedded = backends.find((b) => b.name === "embedded");
  let t: TestServer;
  before(async () => {
    assert.ok(embedded);
    t = await startTestServer(embedded, undefined, { maintenanceIntervalMs: 50 });
  });
  after(() => t.close());
  const stats = async () => {
    const [row] = await t.app.db.query<{ analyzed: number; vacuumed: number; dead: number }>(
      `SELECT analyze_count::int AS analyzed, vacuum_count::int AS vacuumed, n_dead_tup::int AS dead
         FROM pg_stat_user_tables WHERE schemaname = 'rsvp' AND relname = 'reservations'`,
    );
    assert.ok(row);
    return row;
  };

  it("analyzes tables whose rows changed and vacuums those with dead rows, on its own", async () => {
    const made = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        t.client.reserve({
          reservation: { userId: "u", resourceId: `m-${i % 10}`, start: hour(i), end: hour(i + 1) },
        }),
      ),
    );
    await until("an ANALYZE of rsvp.reservations", async () => (await stats()).analyzed > 0);
    // Cancelling changes an indexed column: no HOT update, so each leaves a dead row behind.
    // All in one statement: cancels one by one let a busy machine's rounds vacuum part way
    // through, and the rest (81 of 200, seen) stayed below the threshold of 50 + 20 %, as
    // autovacuum would leave them.
    await t.app.db.query(
      `UPDATE rsvp.reservations SET status = 'cancelled'
        WHERE id IN (SELECT jsonb_array_elements_text($1::text::jsonb)::uuid)`,
      [JSON.stringify(made.map((m) => m.reservation?.id))],
    );
    // Nothing else vacuums the embedded database: a count above 0 is the server's doing, and
    // all 200 dead rows go in the first round that sees them.
    await until("a VACUUM of rsvp.reservations clearing the dead rows", async () => {
      const now = await stats();
      return now.vacuumed > 0 && now.dead < 50;
    });
  });
});
