// The benchmark's own correctness check: it must see every overlap it exists to catch. The
// exclusion constraint forbids overlapping live rows, so this drops it in a throwaway database
// to write the rows the check has to find.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import { BenchDb } from "../bench/bench-db.js";
import { migrate } from "../src/db/engine/migrate.js";
import { openDb } from "../src/db/engine/open.js";
import { postgresBackends, type TestDatabase } from "./helpers/databases.js";

for (const backend of postgresBackends) {
  describe(`bench overlap check (${backend.name})`, () => {
    let database: TestDatabase;
    let url: string;
    let bench: BenchDb;
    let sql: postgres.Sql;

    before(async () => {
      database = await backend.create();
      if (database.target.kind !== "postgres") throw new Error("needs a Postgres server");
      url = database.target.url;
      const db = await openDb(database.target);
      await migrate(db);
      await db.close();
      sql = postgres(url, { max: 1, onnotice: () => {} });
      await sql`ALTER TABLE rsvp.reservations DROP CONSTRAINT reservations_conflict`;
      bench = new BenchDb(url);
    });
    after(async () => {
      await bench.close();
      await sql.end();
      await database.drop();
    });

    /** Inserts live (or `status`) rows of `resource`, each [from, to) in hours of 2030-01-01. */
    async function rows(resource: string, windows: [number, number][], status = "confirmed") {
      for (const [from, to] of windows) {
        await sql`INSERT INTO rsvp.reservations (user_id, resource_id, status, timespan, note)
                  VALUES ('t', ${resource}, ${status}::rsvp.reservation_status,
                          tstzrange(timestamptz '2030-01-01' + ${from} * interval '1 hour',
                                    timestamptz '2030-01-01' + ${to} * interval '1 hour', '[)'), '')`;
      }
    }

    it("finds an overlap that is not between neighbours by start", async () => {
      // [5,6) follows [1,2), which it does not meet; [0,10) covers both.
      await rows("nested-1", [
        [0, 10],
        [1, 2],
        [5, 6],
      ]);
      assert.ok((await bench.overlaps("nested-")) > 0);
    });

    it("passes windows that only touch, cancelled rows, and other resources' rows", async () => {
      await rows("touch-1", [
        [0, 1],
        [1, 2],
        [2, 5],
      ]);
      await rows("touch-2", [[0, 5]]);
      await rows("touch-1", [[0, 5]], "cancelled");
      assert.equal(await bench.overlaps("touch-"), 0);
    });

    it("counts windows that only their buffers make overlap", async () => {
      await sql`INSERT INTO rsvp.resources (id, buffer_after) VALUES ('buffered-1', '15 minutes')`;
      await rows("buffered-1", [
        [0, 1],
        [1, 2],
      ]);
      assert.equal(await bench.overlaps("buffered-"), 1);
      assert.ok((await bench.overlaps()) >= 2, "the whole table holds both cases");
    });

    it("finds a counted resource over its capacity, and passes one at it", async () => {
      await sql`INSERT INTO rsvp.resources (id, capacity) VALUES ('seats-1', 2), ('seats-2', 2)`;
      // The trigger refuses what does not fit: off, to write the rows the check has to find.
      await sql`ALTER TABLE rsvp.reservations DISABLE TRIGGER reservations_apply_resource`;
      try {
        const counted = async (resource: string, windows: [number, number, number][]) => {
          for (const [from, to, quantity] of windows) {
            await sql`INSERT INTO rsvp.reservations
                             (user_id, resource_id, status, timespan, note, quantity, exclusive)
                      VALUES ('t', ${resource}, 'confirmed',
                              tstzrange(timestamptz '2030-01-01' + ${from} * interval '1 hour',
                                        timestamptz '2030-01-01' + ${to} * interval '1 hour', '[)'),
                              '', ${quantity}, NULL)`;
          }
        };
        // Three units at 1:00 on seats-1; seats-2 has two at most at any instant.
        await counted("seats-1", [
          [0, 2, 1],
          [1, 3, 1],
          [1, 2, 1],
        ]);
        await counted("seats-2", [
          [0, 1, 2],
          [1, 2, 2],
          [2, 3, 1],
          [2, 3, 1],
        ]);
      } finally {
        await sql`ALTER TABLE rsvp.reservations ENABLE TRIGGER reservations_apply_resource`;
      }
      assert.ok((await bench.overfilled("seats-1")) > 0);
      assert.equal(await bench.overfilled("seats-2"), 0);
      assert.equal(await bench.overlaps("seats-"), 0, "rows of a counted resource may overlap");
    });
  });
}
