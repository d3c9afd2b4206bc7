import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { RpcError } from "../src/client/grpc-client.js";
import { pruneRequestKeys, REQUEST_KEY_RETENTION_HOURS } from "../src/db/store/request-keys.js";
import {
  ReservationUpdateType as Op,
  ReservationStatus as S,
} from "../src/gen/reservation/reservation_pb.js";
import { ageRequestKey, lapseHolds } from "./helpers/backdate.js";
import { backends, postgresBackends } from "./helpers/databases.js";
import { hour, rejectsWith, ts } from "./helpers/fixtures.js";
import { collectListen, eventsBefore } from "./helpers/listener.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const future = (seconds: number) => ts(new Date(Date.now() + seconds * 1000).toISOString());

for (const backend of backends) {
  describe(`holds that expire (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, { pollIntervalMs: 0 }, { sweepIntervalMs: 100 });
    });
    after(() => t.close());

    it("an unconfirmed hold is released promptly: cancelled, window free, a DELETE on listen", async () => {
      const l = collectListen(t.client, { resourceId: "hold-1" });
      await l.opened;
      const { reservation } = await t.client.reserve({
        reservation: { userId: "u", resourceId: "hold-1", start: hour(1), end: hour(2) },
        holdSeconds: 1,
      });
      assert.ok(reservation?.expiresAt, "the hold carries its expiry");
      assert.equal(reservation.status, S.PENDING);
      const events = await l.waitFor(2, 10_000);
      l.stop();
      assert.deepEqual(
        events.map((e) => e.op),
        [Op.CREATE, Op.DELETE],
      );
      assert.equal(events[1]?.reservation?.status, S.CANCELLED);
      const err = await rejectsWith(
        t.client.confirm({ id: reservation.id }),
        status.FAILED_PRECONDITION,
      );
      assert.match(err.message, /hold expired/);
      await t.client.reserve({
        reservation: { userId: "v", resourceId: "hold-1", start: hour(1), end: hour(2) },
      });
    });

    it("confirming in time keeps it and clears the expiry", async () => {
      const { reservation } = await t.client.reserve({
        reservation: {
          userId: "u",
          resourceId: "hold-2",
          start: hour(1),
          end: hour(2),
          expiresAt: future(30),
        },
      });
      const c = await t.client.confirm({ id: reservation?.id ?? "" });
      assert.equal(c.reservation?.status, S.CONFIRMED);
      assert.equal(c.reservation?.expiresAt, undefined);
    });

    it("rejects holds that make no sense", async () => {
      const base = { userId: "u", resourceId: "hold-3", start: hour(1), end: hour(2) };
      await rejectsWith(
        t.client.reserve({ reservation: { ...base, expiresAt: ts("2001-01-01T00:00:00Z") } }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        t.client.reserve({ reservation: { ...base, status: S.CONFIRMED }, holdSeconds: 5 }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        t.client.reserve({ reservation: { ...base, expiresAt: future(5) }, holdSeconds: 5 }),
        status.INVALID_ARGUMENT,
      );
    });
  });

  describe(`expired holds never block (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      // A sweeper that never runs in the test: the reserve path must release on its own.
      t = await startTestServer(backend, { pollIntervalMs: 0 }, { sweepIntervalMs: 3_600_000 });
    });
    after(() => t.close());

    it("a reserve over an expired hold releases it in the same transaction and succeeds", async () => {
      const l = collectListen(t.client, { resourceId: "lapsed" });
      await l.opened;
      const hold = await t.client.reserve({
        reservation: { userId: "u", resourceId: "lapsed", start: hour(1), end: hour(3) },
        holdSeconds: 60,
      });
      await lapseHolds(t.app.db, [hold.reservation?.id ?? ""]);
      const next = await t.client.reserve({
        reservation: { userId: "v", resourceId: "lapsed", start: hour(2), end: hour(4) },
      });
      assert.equal(next.reservation?.status, S.PENDING);
      const old = await t.client.get({ id: hold.reservation?.id ?? "" });
      assert.equal(old.reservation?.status, S.CANCELLED);
      const events = await l.waitFor(3);
      l.stop();
      assert.deepEqual(
        events.map((e) => e.op),
        [Op.CREATE, Op.DELETE, Op.CREATE],
      );
      const free = await t.client.available({ resourceId: "lapsed", start: hour(0), end: hour(5) });
      assert.equal(free.windows.length, 2);
    });

    it("update moves over an expired hold (releasing it), and refuses to move an expired hold", async () => {
      const base = { userId: "u", resourceId: "lapsed-update" };
      const inWay = await t.client.reserve({
        reservation: { ...base, start: hour(1), end: hour(2) },
        holdSeconds: 60,
      });
      const lapsing = await t.client.reserve({
        reservation: { ...base, start: hour(5), end: hour(6) },
        holdSeconds: 60,
      });
      const mover = await t.client.reserve({
        reservation: { ...base, start: hour(3), end: hour(4), status: S.CONFIRMED },
      });
      // Both holds lapse; the sweeper of this server never runs.
      await lapseHolds(t.app.db, [inWay.reservation?.id ?? "", lapsing.reservation?.id ?? ""]);
      const moved = await t.client.update({
        id: mover.reservation?.id ?? "",
        start: hour(1),
        end: hour(2),
      });
      assert.deepEqual(moved.reservation?.start, hour(1));
      const released = await t.client.get({ id: inWay.reservation?.id ?? "" });
      assert.equal(released.reservation?.status, S.CANCELLED);

      const id = lapsing.reservation?.id ?? "";
      const err = await rejectsWith(
        t.client.update({ id, start: hour(7), end: hour(8) }),
        status.FAILED_PRECONDITION,
      );
      assert.match(err.message, /hold expired/);
      const after = await t.client.get({ id });
      assert.equal(after.reservation?.status, S.CANCELLED);
      assert.deepEqual(after.reservation?.start, hour(5), "never moved");
      await rejectsWith(t.client.update({ id, note: "late" }), status.FAILED_PRECONDITION);
    });
  });

  describe(`idempotent reserve (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());
    const body = (requestId: string, userId = "ida") => ({
      reservation: { userId, resourceId: "idem", start: hour(1), end: hour(2), note: "n" },
      requestId,
    });

    it("a retry with the same key returns the original; another body with it is INVALID_ARGUMENT", async () => {
      const first = await t.client.reserve(body("key-1"));
      const again = await t.client.reserve(body("key-1"));
      assert.equal(again.reservation?.id, first.reservation?.id);
      const other = {
        ...body("key-1"),
        reservation: { ...body("key-1").reservation, note: "changed" },
      };
      await rejectsWith(t.client.reserve(other), status.INVALID_ARGUMENT);
      // Keys are per user: another user's same key is another request (and here, a clash).
      await rejectsWith(t.client.reserve(body("key-1", "idb")), status.ALREADY_EXISTS);
    });

    it("racing retries of one request make exactly one reservation", async () => {
      const req = {
        ...body("key-race"),
        reservation: { ...body("key-race").reservation, resourceId: "idem-race" },
      };
      const results = await Promise.all(Array.from({ length: 40 }, () => t.client.reserve(req)));
      assert.equal(new Set(results.map((r) => r.reservation?.id)).size, 1);
      const [row] = await t.app.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM rsvp.reservations WHERE resource_id = 'idem-race'",
      );
      assert.equal(row?.n, 1);
    });

    it(`keys are kept ${REQUEST_KEY_RETENTION_HOURS} h, then forgotten in batches`, async () => {
      const keyed = (requestId: string, h: number) => ({
        reservation: { userId: "ida", resourceId: "idem-prune", start: hour(h), end: hour(h + 1) },
        requestId,
      });
      const kept = await t.client.reserve(keyed("prune-kept", 1));
      await t.client.reserve(keyed("prune-old-1", 2));
      await t.client.reserve(keyed("prune-old-2", 3));
      await ageRequestKey(t.app.db, "ida", "prune-kept", REQUEST_KEY_RETENTION_HOURS - 1);
      await ageRequestKey(t.app.db, "ida", "prune-old-1", REQUEST_KEY_RETENTION_HOURS + 1);
      await ageRequestKey(t.app.db, "ida", "prune-old-2", REQUEST_KEY_RETENTION_HOURS + 1);
      // Other tests' keys are fresh: only the two aged past the retention go, one per batch.
      assert.equal(await pruneRequestKeys(t.app.db, 1), 1);
      assert.equal(await pruneRequestKeys(t.app.db, 1), 1);
      assert.equal(await pruneRequestKeys(t.app.db, 1), 0);
      const again = await t.client.reserve(keyed("prune-kept", 1));
      assert.equal(again.reservation?.id, kept.reservation?.id, "a key within retention replays");
      // A forgotten key is a new request: it clashes with the reservation it made before.
      await rejectsWith(t.client.reserve(keyed("prune-old-1", 2)), status.ALREADY_EXISTS);
    });
  });

  describe(`reschedule (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    it("moves atomically under the same conflict rules, keeping the note unless given", async () => {
      const a = (
        await t.client.reserve({
          reservation: {
            userId: "u",
            resourceId: "mv",
            start: hour(1),
            end: hour(3),
            note: "keep",
          },
        })
      ).reservation;
      await t.client.reserve({
        reservation: { userId: "u", resourceId: "mv", start: hour(5), end: hour(6) },
      });
      const id = a?.id ?? "";
      // Overlapping only itself is fine.
      const moved = await t.client.update({ id, start: hour(2), end: hour(4) });
      assert.deepEqual(
        [moved.reservation?.start, moved.reservation?.end, moved.reservation?.note],
        [hour(2), hour(4), "keep"],
      );
      assert.ok((moved.reservation?.updatedAt?.seconds ?? 0n) >= (a?.createdAt?.seconds ?? 0n));
      const err = await rejectsWith(
        t.client.update({ id, start: hour(4), end: hour(5.5) }),
        status.ALREADY_EXISTS,
      );
      assert.deepEqual(err.conflict?.existingStart, hour(5));
      const unchanged = await t.client.get({ id });
      assert.deepEqual(
        [unchanged.reservation?.start, unchanged.reservation?.end],
        [hour(2), hour(4)],
      );
      const both = await t.client.update({ id, start: hour(7), end: hour(8), note: "" });
      assert.equal(both.reservation?.note, "", "an explicit empty note clears it");
      await rejectsWith(t.client.update({ id, start: hour(9) }), status.INVALID_ARGUMENT);
      await rejectsWith(
        t.client.update({ id, start: hour(9), end: hour(8) }),
        status.INVALID_ARGUMENT,
      );
      await t.client.cancel({ id });
      await rejectsWith(
        t.client.update({ id, start: hour(10), end: hour(11) }),
        status.FAILED_PRECONDITION,
      );
    });
  });

  describe(`filter pages (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    const all = async (
      req: {
        resourceId: string;
        pageSize: number;
        start?: ReturnType<typeof hour>;
        desc?: boolean;
      },
      during?: (page: number) => Promise<void>,
    ) => {
      const ids: string[] = [];
      let pageToken = "";
      for (let page = 0; ; page++) {
        const res = await t.client.filter({ ...req, pageToken });
        ids.push(...res.reservations.map((r) => r.id));
        if (!res.nextPageToken) return ids;
        await during?.(page);
        pageToken = res.nextPageToken;
      }
    };

    it("pages by keyset: every row once, in order, stable while rows are added and cancelled", async () => {
      const made: string[] = [];
      for (let h = 0; h < 23; h++) {
        const r = await t.client.reserve({
          reservation: { userId: "u", resourceId: "pg", start: hour(h * 2), end: hour(h * 2 + 1) },
        });
        made.push(r.reservation?.id ?? "");
      }
      assert.deepEqual(await all({ resourceId: "pg", pageSize: 5 }), made);
      assert.deepEqual(
        await all({ resourceId: "pg", pageSize: 4, desc: true }),
        [...made].reverse(),
      );
      const extra: string[] = [];
      const cancelled: string[] = [];
      const seen = await all({ resourceId: "pg", pageSize: 5 }, async (page) => {
        // Between pages: insert behind and ahead of the cursor, and cancel one ahead.
        for (const h of [page * 20 + 1.5, 200 + page]) {
          const r = await t.client.reserve({
            reservation: { userId: "u", resourceId: "pg", start: hour(h), end: hour(h + 0.25) },
          });
          extra.push(r.reservation?.id ?? "");
        }
        const ahead = made[(page + 1) * 5 + 2];
        if (ahead) {
          await t.client.cancel({ id: ahead });
          cancelled.push(ahead);
        }
      });
      assert.ok(cancelled.length >= 3, "rows were cancelled while paging");
      assert.equal(new Set(seen).size, seen.length, "no row twice");
      for (const id of cancelled)
        assert.ok(!seen.includes(id), "a row cancelled ahead never shows");
      for (const id of made.filter((x) => !cancelled.includes(x)))
        assert.ok(seen.includes(id), "no pre-existing live row skipped");
      const live = await all({ resourceId: "pg", pageSize: 500 });
      assert.equal(live.length, made.length + extra.length - cancelled.length);
    });

    it("an invalid, tampered or foreign token is INVALID_ARGUMENT", async () => {
      const first = await t.client.filter({ resourceId: "pg", pageSize: 2 });
      const token = first.nextPageToken;
      assert.ok(token);
      const [data = "", sig = ""] = token.split(".");
      const tampered = `${Buffer.from(
        Buffer.from(data, "base64url")
          .toString()
          .replace(/"inside"/, '"straddling"'),
      ).toString("base64url")}.${sig}`;
      for (const pageToken of ["nonsense", tampered, `${data}.${"A".repeat(sig.length)}`]) {
        await rejectsWith(
          t.client.filter({ resourceId: "pg", pageSize: 2, pageToken }),
          status.INVALID_ARGUMENT,
        );
      }
      await rejectsWith(
        t.client.filter({ resourceId: "other", pageSize: 2, pageToken: token }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(t.client.filter({ pageSize: -1 }), status.INVALID_ARGUMENT);
      const big = await t.client.filter({ resourceId: "pg", pageSize: 100_000 });
      assert.ok(big.reservations.length <= 500);
    });
  });
}

for (const backend of postgresBackends) {
  describe(`holds across processes (${backend.name})`, () => {
    it("several sweeping processes release each expired hold exactly once", async () => {
      const t = await startTestServer(backend, { pollIntervalMs: 0 }, { sweepIntervalMs: 50 });
      try {
        await t.startAnother({ pollIntervalMs: 0 }, { sweepIntervalMs: 50 });
        await t.startAnother({ pollIntervalMs: 0 }, { sweepIntervalMs: 50 });
        const l = collectListen(t.client, { userId: "sweep" });
        await l.opened;
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            t.client.reserve({
              reservation: {
                userId: "sweep",
                resourceId: `sw-${i % 5}`,
                start: hour(i),
                end: hour(i + 1),
              },
              holdSeconds: 1,
            }),
          ),
        );
        const events = await l.waitFor(60, 15_000);
        const before = await eventsBefore(l, () =>
          t.client.reserve({
            reservation: { userId: "sweep", resourceId: "sw-mark", start: hour(1), end: hour(2) },
          }),
        );
        l.stop();
        assert.equal(before.length, 60, "each hold created once and released once");
        assert.equal(events.filter((e) => e.op === Op.DELETE).length, 30);
      } finally {
        await t.close();
      }
    });
  });
}

for (const backend of backends) {
  describe(`free windows (${backend.name})`, () => {
    let t: TestServer;
    let run = 0;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    it("available equals a brute-force computation on random data", async () => {
      const fc = (await import("fast-check")).default;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              from: fc.integer({ min: 0, max: 47 }),
              len: fc.integer({ min: 1, max: 6 }),
              cancel: fc.boolean(),
            }),
            { maxLength: 12 },
          ),
          fc.integer({ min: 0, max: 40 }),
          fc.integer({ min: 1, max: 20 }),
          fc.integer({ min: 0, max: 4 }),
          async (slots, qFrom, qLen, minHours) => {
            const resourceId = `avail-${run++}`;
            const busy: Array<[number, number]> = [];
            for (const s of slots) {
              const res = await t.client
                .reserve({
                  reservation: {
                    userId: "u",
                    resourceId,
                    start: hour(s.from / 2),
                    end: hour((s.from + s.len) / 2),
                  },
                })
                .catch((err: unknown) => {
                  // A clash: not stored, so not busy. Any other failure fails the property.
                  if (err instanceof RpcError && err.code === status.ALREADY_EXISTS)
                    return undefined;
                  throw err;
                });
              if (!res?.reservation) continue;
              if (s.cancel) await t.client.cancel({ id: res.reservation.id });
              else busy.push([s.from, s.from + s.len]);
            }
            // Brute force on the half-hour grid.
            const expected: Array<[number, number]> = [];
            for (let x = qFrom; x < qFrom + qLen; x++) {
              const free = !busy.some(([a, b]) => a <= x && x < b);
              const last = expected.at(-1);
              if (free && last && last[1] === x) last[1] = x + 1;
              else if (free) expected.push([x, x + 1]);
            }
            const wanted = expected.filter(([a, b]) => b - a >= minHours * 2);
            const got = await t.client.available({
              resourceId,
              start: hour(qFrom / 2),
              end: hour((qFrom + qLen) / 2),
              minDuration: { seconds: BigInt(minHours * 3600) },
            });
            assert.deepEqual(
              got.windows.map((w) => [w.start, w.end]),
              wanted.map(([a, b]) => [hour(a / 2), hour(b / 2)]),
            );
          },
        ),
        { numRuns: 40 },
      );
    });

    it("rejects an unbounded or inverted range and a negative minimum", async () => {
      await rejectsWith(
        t.client.available({ resourceId: "r", start: hour(1) }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        t.client.available({ resourceId: "r", start: hour(2), end: hour(1) }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        t.client.available({ resourceId: "", start: hour(1), end: hour(2) }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        t.client.available({
          resourceId: "r",
          start: hour(1),
          end: hour(2),
          minDuration: { seconds: -1n },
        }),
        status.INVALID_ARGUMENT,
      );
    });
  });
}
