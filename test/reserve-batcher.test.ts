import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Db, Queryable } from "../src/db/engine/db.js";
import { migrate } from "../src/db/engine/migrate.js";
import { openDb } from "../src/db/engine/open.js";
import { createReserveBatcher } from "../src/db/store/reserve-batcher.js";
import type { NewReservation } from "../src/domain/reservation.js";
import { backends } from "./helpers/databases.js";

// How the batcher groups requests into statements, seen from the statements themselves: a
// real database behind a pass-through that notes which requests each statement carried.

const HOUR = 3_600_000_000n;
const BASE = BigInt(Date.UTC(2031, 0, 1)) * 1000n;
const request = (resourceId: string, requestId?: string): NewReservation => ({
  userId: "u",
  resourceId,
  status: "pending",
  note: "",
  start: BASE,
  end: BASE + HOUR,
  requestId,
});

for (const backend of backends) {
  describe(`reserve batcher (${backend.name})`, () => {
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

    /** The database, noting each statement's requests by resource (and key, when keyed). */
    function recording(): { db: Queryable; batches: string[][] } {
      const batches: string[][] = [];
      return {
        batches,
        db: {
          exec: (text) => db.exec(text),
          query: (text, params, options) => {
            const payload = JSON.parse(String(params?.[0])) as Array<{
              resource_id: string;
              request_id: string | null;
            }>;
            batches.push(
              payload.map((p) =>
                p.request_id ? `${p.resource_id}:${p.request_id}` : p.resource_id,
              ),
            );
            return db.query(text, params, options);
          },
        },
      };
    }

    it("sends at once when idle, then what queued meanwhile in batches of at most maxBatch, in order", async () => {
      const r = recording();
      const batcher = createReserveBatcher(r.db, { maxBatch: 3, maxInFlight: 1 });
      const names = Array.from({ length: 8 }, (_, i) => `batch-${i}`);
      const outcomes = await Promise.all(names.map((n) => batcher.reserve(request(n))));
      assert.deepEqual(
        outcomes.map((o) => o.kind),
        names.map(() => "created"),
      );
      assert.deepEqual(r.batches, [
        ["batch-0"],
        ["batch-1", "batch-2", "batch-3"],
        ["batch-4", "batch-5", "batch-6"],
        ["batch-7"],
      ]);
    });

    it("retries sharing an idempotency key wait for the next batch, in order", async () => {
      const r = recording();
      const batcher = createReserveBatcher(r.db, { maxBatch: 10, maxInFlight: 1 });
      const [, first, , second, third] = await Promise.all([
        batcher.reserve(request("key-blocker")),
        batcher.reserve(request("key-a", "k")),
        batcher.reserve(request("key-b")),
        batcher.reserve(request("key-a", "k")),
        batcher.reserve(request("key-a", "k")),
      ]);
      assert.deepEqual(r.batches, [
        ["key-blocker"],
        ["key-a:k", "key-b"],
        ["key-a:k"],
        ["key-a:k"],
      ]);
      assert.equal(first?.kind, "created");
      assert.equal(second?.kind, "replayed");
      assert.equal(third?.kind, "replayed");
      assert.equal(second?.reservation.id, first?.reservation.id);
      assert.equal(third?.reservation.id, first?.reservation.id);
    });

    it("never sends a request whose caller gave up while it waited, and answers it at once", async () => {
      const r = recording();
      const batcher = createReserveBatcher(r.db, { maxBatch: 10, maxInFlight: 1 });
      const gaveUp = new AbortController();
      const blocker = batcher.reserve(request("abort-blocker"));
      const abandoned = batcher.reserve(request("abort-x"), gaveUp.signal);
      const kept = batcher.reserve(request("abort-y"));
      gaveUp.abort(new Error("deadline passed"));
      await assert.rejects(abandoned, /deadline passed/);
      await Promise.all([blocker, kept]);
      assert.deepEqual(r.batches, [["abort-blocker"], ["abort-y"]]);
    });

    it("sheds a request beyond maxQueued with RESOURCE_EXHAUSTED", async () => {
      const r = recording();
      const batcher = createReserveBatcher(r.db, { maxInFlight: 1, maxQueued: 2 });
      const sent = batcher.reserve(request("shed-0")); // out at once: not queued
      const queued = [batcher.reserve(request("shed-1")), batcher.reserve(request("shed-2"))];
      await assert.rejects(
        batcher.reserve(request("shed-3")),
        /too many reservations waiting \(2\)/,
      );
      await Promise.all([sent, ...queued]);
      assert.deepEqual(r.batches, [["shed-0"], ["shed-1", "shed-2"]]);
    });
  });
}
