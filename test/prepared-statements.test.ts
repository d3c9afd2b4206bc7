import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Db } from "../src/db/engine/db.js";
import { openDb } from "../src/db/engine/open.js";
import { backends, type TestDatabase } from "./helpers/databases.js";

// Both backends prepare a statement once and run it many times; what they answer must not
// depend on whether a statement was prepared before the schema under it changed.
for (const backend of backends) {
  describe(`prepared statements (${backend.name})`, () => {
    let target: TestDatabase;
    let db: Db;
    before(async () => {
      target = await backend.create();
      db = await openDb(target.target);
      await db.exec("CREATE TABLE shapes (id int PRIMARY KEY, a text)");
      await db.query("INSERT INTO shapes VALUES ($1, $2)", [1, "one"]);
    });
    // As plain arrays: postgres.js answers with an Array subclass.
    const rows = async (text: string, params: unknown[]) => [...(await db.query(text, params))];
    after(async () => {
      await db.close();
      await target.drop();
    });

    it("a statement run again after a script added a column returns the new column", async () => {
      const select = "SELECT * FROM shapes WHERE id = $1";
      assert.deepEqual(await rows(select, [1]), [{ id: 1, a: "one" }]);
      await db.exec("ALTER TABLE shapes ADD COLUMN b text NOT NULL DEFAULT 'bee'");
      assert.deepEqual(await rows(select, [1]), [{ id: 1, a: "one", b: "bee" }]);
    });

    it("a statement run again after a single DDL statement changed its columns is re-prepared", async () => {
      const select = "SELECT * FROM shapes WHERE id = $1 ";
      assert.deepEqual(Object.keys((await rows(select, [1]))[0] ?? {}), ["id", "a", "b"]);
      await db.query("ALTER TABLE shapes ADD COLUMN c int NOT NULL DEFAULT 3");
      assert.deepEqual(await rows(select, [1]), [{ id: 1, a: "one", b: "bee", c: 3 }]);
    });

    it("a statement re-planned after a column's type changed reads it as the new type", async () => {
      const select = "SELECT c FROM shapes WHERE id = $1";
      assert.deepEqual(await rows(select, [1]), [{ c: 3 }]);
      await db.exec("ALTER TABLE shapes ALTER COLUMN c TYPE text USING c::text || '!'");
      assert.deepEqual(await rows(select, [1]), [{ c: "3!" }]);
    });

    it("a statement that failed inside a transaction on a changed table works after it", async () => {
      const select = "SELECT * FROM shapes WHERE id = $1  ";
      assert.equal((await db.query(select, [1])).length, 1);
      await db.query("ALTER TABLE shapes DROP COLUMN c");
      // Whether the transaction survives differs between drivers; the statement afterwards
      // must see the table as it is now.
      await db.transaction((tx) => tx.query(select, [1])).catch(() => undefined);
      assert.deepEqual(await rows(select, [1]), [{ id: 1, a: "one", b: "bee" }]);
    });

    it("many distinct statements each keep their own answer", async () => {
      // More than the embedded cache holds (256), so the oldest are closed while in use.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 300; i++) {
          const [row] = await db.query<{ v: number }>(`SELECT $1::int + ${i} AS v`, [round]);
          assert.equal(row?.v, round + i);
        }
      }
    });

    it("an error from a prepared statement keeps its SQLSTATE and the next call works", async () => {
      const insert = "INSERT INTO shapes (id, a) VALUES ($1, $2)";
      await db.query(insert, [2, "two"]);
      await assert.rejects(db.query(insert, [2, "again"]), { code: "23505" });
      await db.query(insert, [3, "three"]);
      const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM shapes");
      assert.equal(row?.n, 3);
    });
  });
}
