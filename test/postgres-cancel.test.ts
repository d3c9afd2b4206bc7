import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import postgres from "postgres";
import type { Db } from "../src/db/engine/db.js";
import { createPostgresDb } from "../src/db/engine/postgres-db.js";
import { postgresBackends, type TestDatabase } from "./helpers/databases.js";
import { eventually } from "./helpers/harness.js";

const who = async (rows: Promise<Array<{ who: string }>>) => (await rows).map((r) => r.who);

for (const backend of postgresBackends) {
  // A statement handed another's result never settles: a time limit turns that hang into a failure.
  describe(`cancelling a statement touches no other statement (${backend.name})`, {
    timeout: 60_000,
  }, () => {
    let database: TestDatabase;
    let url: string;
    let observer: postgres.Sql;
    // Each test has a connection of its own: a late cancel of one lands on nothing of another.
    let db: Db;
    before(async () => {
      database = await backend.create();
      assert.equal(database.target.kind, "postgres");
      url = database.target.kind === "postgres" ? database.target.url : "";
      observer = postgres(url, { max: 1, onnotice: () => {} });
    });
    beforeEach(async () => {
      // One open connection: every statement of a test shares it, as busy pool connections do.
      db = createPostgresDb(url, { max: 1 });
      await db.query("SELECT 1");
    });
    afterEach(() => db.close());
    after(async () => {
      await observer.end();
      await database.drop();
    });

    /** The pid of the backend running a statement whose text contains `marker`. */
    const running = async (marker: string) => {
      const rows = await observer<{ pid: number }[]>`
        SELECT pid FROM pg_stat_activity
         WHERE state = 'active' AND query LIKE ${`%${marker}%`} AND pid <> pg_backend_pid()`;
      return rows[0]?.pid;
    };

    it("a statement cancelled while it waits behind another: each later one gets its own rows", async () => {
      const first = who(db.query("SELECT 'first' AS who, pg_sleep(0.3) AS marker_a"));
      const abort = new AbortController();
      const second = db.query("SELECT 'second' AS who", [], { signal: abort.signal });
      const third = who(db.query("SELECT 'third' AS who"));
      const fourth = who(db.query("SELECT 'fourth' AS who"));
      await eventually(() => running("marker_a"), "the first statement to run");
      abort.abort(new Error("caller gave up"));
      // Cancelled once it runs, or finished first: either way its own answer, and it settles.
      const own = await second.then(
        (rows) => rows.map((r) => r.who),
        () => "cancelled",
      );
      assert.ok(own === "cancelled" || (Array.isArray(own) && own[0] === "second"), String(own));
      assert.deepEqual(await first, ["first"]);
      assert.deepEqual(await third, ["third"]);
      assert.deepEqual(await fourth, ["fourth"]);
    });

    it("a cancel meant for another statement is retried, not handed to the caller", async () => {
      const slow = who(db.query("SELECT 'me' AS who, pg_sleep(0.3) AS marker_b"));
      const pid = await eventually(() => running("marker_b"), "the statement to run");
      await observer`SELECT pg_cancel_backend(${pid})`;
      assert.deepEqual(await slow, ["me"]);
    });

    it("a transaction a stray cancel aborted is run again", async () => {
      let attempts = 0;
      const done = db.transaction(async (tx) => {
        attempts++;
        return who(tx.query("SELECT 'tx' AS who, pg_sleep(0.3) AS marker_c"));
      });
      const pid = await eventually(() => running("marker_c"), "the transaction to run");
      await observer`SELECT pg_cancel_backend(${pid})`;
      assert.deepEqual(await done, ["tx"]);
      assert.equal(attempts, 2);
    });

    it("a statement its own caller cancels still fails, and is not run again", async () => {
      const abort = new AbortController();
      const mine = db.query("SELECT 'mine' AS who, pg_sleep(5) AS marker_d", [], {
        signal: abort.signal,
      });
      await eventually(() => running("marker_d"), "the statement to run");
      abort.abort(new Error("caller gave up"));
      await assert.rejects(mine, { code: "57014" });
      await eventually(
        async () => (await running("marker_d")) === undefined,
        "nothing left running",
      );
    });
  });
}
