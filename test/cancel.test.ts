import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDb } from "../src/db/engine/open.js";
import { Code } from "../src/domain/errors.js";
import { createLogger } from "../src/server/logger.js";
import { toRsvpError } from "../src/server/transport/error-mapping.js";
import { backends, postgresBackends } from "./helpers/databases.js";

for (const backend of postgresBackends) {
  describe(`cancelling statements (${backend.name})`, () => {
    it("an aborted signal stops the running statement in Postgres: CANCELLED, not a wait", async () => {
      const database = await backend.create();
      const db = await openDb(database.target);
      try {
        const abort = new AbortController();
        setTimeout(() => abort.abort(), 100);
        const started = Date.now();
        const err = await db.query("SELECT pg_sleep(10)", [], { signal: abort.signal }).then(
          () => assert.fail("the statement should have been cancelled"),
          (e: unknown) => e,
        );
        assert.ok(Date.now() - started < 5000, "it stopped long before pg_sleep(10) would have");
        assert.equal(toRsvpError(err, createLogger("silent")).code, Code.Cancelled);
        const [row] = await db.query<{ ok: number }>("SELECT 1 AS ok");
        assert.equal(row?.ok, 1, "the pool is fine afterwards");
      } finally {
        await db.close();
        await database.drop();
      }
    });
  });
}

for (const backend of backends) {
  describe(`already-aborted calls (${backend.name})`, () => {
    it("a statement is not started once its signal has aborted", async () => {
      const database = await backend.create();
      const db = await openDb(database.target);
      try {
        await assert.rejects(db.query("SELECT 1", [], { signal: AbortSignal.abort() }), {
          name: "AbortError",
        });
      } finally {
        await db.close();
        await database.drop();
      }
    });
  });
}
