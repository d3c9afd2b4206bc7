import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createRsvpClient } from "../src/client/grpc-client.js";
import { migrate } from "../src/db/engine/migrate.js";
import { openDb } from "../src/db/engine/open.js";
import { startApp } from "../src/server/app.js";
import { createLogger } from "../src/server/logger.js";
import { backends, postgresBackends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";

for (const backend of backends) {
  describe(`migrations (${backend.name})`, () => {
    it("apply once, then are a no-op; the schema has the guarantee", async () => {
      const database = await backend.create();
      // From an empty database: the suites' embedded template is migrated already.
      const db = await openDb(
        database.target.kind === "embedded"
          ? { kind: "embedded", dataDir: "memory://" }
          : database.target,
      );
      try {
        assert.deepEqual(await migrate(db), [
          "001_core.sql",
          "002_changes.sql",
          "003_booking.sql",
          "004_reserve_without_probes.sql",
          "005_feed_horizon.sql",
          "006_resources.sql",
          "007_capacity.sql",
          "008_webhooks.sql",
          "009_start_rules.sql",
          "010_pool_reserve.sql",
          "011_lifecycle.sql",
          "012_insert_capture.sql",
        ]);
        assert.deepEqual(await migrate(db), []);
        const [c] = await db.query<{ def: string }>(
          "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'reservations_conflict'",
        );
        assert.match(
          c?.def ?? "",
          /EXCLUDE USING gist \(resource_id WITH =, occupied WITH &&, exclusive WITH =\) WHERE \(\(status <> 'cancelled'/,
        );
        // What a reservation occupies is its window widened by buffers that are never
        // negative: it always covers the window, so no two windows overlap either.
        const [occupied] = await db.query<{ expr: string }>(
          `SELECT generation_expression AS expr FROM information_schema.columns
            WHERE table_schema = 'rsvp' AND table_name = 'reservations' AND column_name = 'occupied'`,
        );
        assert.match(occupied?.expr ?? "", /widen\(timespan, buffer_before, buffer_after\)/);
        const [buffers] = await db.query<{ def: string }>(
          "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'reservations_buffers_valid'",
        );
        assert.match(buffers?.def ?? "", /buffer_before >= '00:00:00'::interval/);
      } finally {
        await db.close();
        await database.drop();
      }
    });
  });
}

for (const backend of postgresBackends) {
  describe(`migrations under concurrency (${backend.name})`, () => {
    it("several processes migrating one database at once apply each migration once", async () => {
      const database = await backend.create();
      const dbs = await Promise.all(Array.from({ length: 4 }, () => openDb(database.target)));
      try {
        const applied = await Promise.all(dbs.map((db) => migrate(db)));
        const files = readdirSync("src/db/migrations").filter((f) => f.endsWith(".sql"));
        assert.equal(
          applied.flat().length,
          files.length,
          "each migration applied by exactly one process",
        );
        const [row] =
          (await dbs[0]?.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM rsvp.schema_migrations",
          )) ?? [];
        assert.equal(row?.n, files.length);
      } finally {
        for (const db of dbs) await db.close();
        await database.drop();
      }
    });
  });
}

describe("embedded data directory", () => {
  it("keeps reservations across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rsvp-data-"));
    const config = {
      host: "127.0.0.1",
      port: 0,
      httpPort: 0,
      database: { kind: "embedded" as const, dataDir: dir },
      retentionSeconds: 3600,
    };
    const log = createLogger("silent");
    try {
      let app = await startApp({ config, log });
      let client = createRsvpClient(app.grpcAddress);
      const { reservation } = await client.reserve({
        reservation: {
          userId: "u",
          resourceId: "kept",
          start: hour(1),
          end: hour(2),
          note: "survives",
        },
      });
      client.close();
      await app.close();
      app = await startApp({ config, log });
      client = createRsvpClient(app.grpcAddress);
      const got = await client.get({ id: reservation?.id ?? "" });
      assert.equal(got.reservation?.note, "survives");
      client.close();
      await app.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
