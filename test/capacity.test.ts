import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { reserveMany } from "../src/db/store/reservations.js";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import { QuotaPeriod } from "../src/gen/reservation/resource_pb.js";
import { backends } from "./helpers/databases.js";
import { collect, hour, rejectsWith, ts } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const hours = (h: number) => ({ seconds: BigInt(h * 3600) });
const hhmm = (t: { seconds: bigint } | undefined) =>
  t ? new Date(Number(t.seconds) * 1000).toISOString().slice(11, 16) : "";

for (const backend of backends) {
  describe(`counted capacity and quotas (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    const reserve = (
      resourceId: string,
      from: number,
      to: number,
      quantity = 0,
      userId = "alice",
      status = S.CONFIRMED,
    ) =>
      t.client.reserve({
        reservation: { userId, resourceId, start: hour(from), end: hour(to), quantity, status },
      });

    it("units add up to the capacity at every instant; a reserve that does not fit says how many are free", async () => {
      await t.resources.putResource({ resource: { id: "desks", capacity: 3 } });
      const two = await reserve("desks", 9, 12, 2);
      assert.equal(two.reservation?.quantity, 2);
      const one = await reserve("desks", 10, 11);
      assert.equal(one.reservation?.quantity, 1, "0 means 1");
      const err = await rejectsWith(reserve("desks", 11, 13, 2), status.ALREADY_EXISTS);
      assert.equal(err.conflict?.free, 1, "one unit left at 11:00-12:00");
      assert.equal(hhmm(err.conflict?.requestedStart), "11:00");
      assert.equal(err.conflict?.existingStart && hhmm(err.conflict.existingStart), "09:00");
      const full = await rejectsWith(reserve("desks", 10, 10.5), status.ALREADY_EXISTS);
      assert.equal(full.conflict?.free, 0, "sold out at 10:00-11:00");
      // Where the tightest instant still has room, it fits.
      const later = await reserve("desks", 11, 13, 1);
      assert.equal(later.reservation?.quantity, 1);
      await t.client.cancel({ id: two.reservation?.id ?? "" });
      assert.equal((await reserve("desks", 9, 11, 2)).reservation?.quantity, 2);
    });

    it("quantity above the capacity, above 1 on an exclusive resource, or negative is INVALID_ARGUMENT", async () => {
      await t.resources.putResource({ resource: { id: "lab", capacity: 3 } });
      await t.resources.putResource({ resource: { id: "room-1" } });
      await rejectsWith(reserve("lab", 9, 10, 4), status.INVALID_ARGUMENT);
      await rejectsWith(reserve("room-1", 9, 10, 2), status.INVALID_ARGUMENT);
      await rejectsWith(reserve("never-registered", 9, 10, 2), status.INVALID_ARGUMENT);
      await rejectsWith(reserve("lab", 9, 10, -1), status.INVALID_ARGUMENT);
      await rejectsWith(
        t.resources.putResource({ resource: { id: "lab", capacity: -2 } }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        t.client.available({ resourceId: "lab", start: hour(0), end: hour(24), quantity: 4 }),
        status.INVALID_ARGUMENT,
      );
      // An exclusive resource behaves as before: one at a time, quantity 1 reported.
      const r = await reserve("room-1", 9, 10);
      assert.equal(r.reservation?.quantity, 1);
      const clash = await rejectsWith(reserve("room-1", 9.5, 10.5), status.ALREADY_EXISTS);
      assert.equal(clash.conflict?.free, 0);
    });

    it("a blocked reservation takes the whole capacity and reports it", async () => {
      await t.resources.putResource({ resource: { id: "hall", capacity: 5 } });
      await reserve("hall", 9, 10, 1);
      await rejectsWith(reserve("hall", 9, 10, 1, "ops", S.BLOCKED), status.ALREADY_EXISTS);
      const block = await reserve("hall", 12, 14, 1, "ops", S.BLOCKED);
      assert.equal(block.reservation?.quantity, 5);
      const err = await rejectsWith(reserve("hall", 13, 15, 1), status.ALREADY_EXISTS);
      assert.equal(err.conflict?.free, 0);
      // Raising the capacity: the block still closes the resource.
      await t.resources.putResource({ resource: { id: "hall", capacity: 8 } });
      await rejectsWith(reserve("hall", 13, 15, 1), status.ALREADY_EXISTS);
      const [row] = await t.app.db.query<{ quantity: number }>(
        "SELECT quantity FROM rsvp.reservations WHERE id = $1",
        [block.reservation?.id],
      );
      assert.equal(row?.quantity, 8);
    });

    it("available returns the maximal windows with enough units free throughout, each with its fewest free", async () => {
      await t.resources.putResource({ resource: { id: "lot", capacity: 4 } });
      await reserve("lot", 10, 12, 3);
      await reserve("lot", 11, 13, 1);
      const one = await t.client.available({ resourceId: "lot", start: hour(8), end: hour(16) });
      assert.deepEqual(
        one.windows.map((w) => [hhmm(w.start), hhmm(w.end), w.free]),
        [
          ["08:00", "11:00", 1],
          ["12:00", "16:00", 3],
        ],
      );
      const two = await t.client.available({
        resourceId: "lot",
        start: hour(8),
        end: hour(16),
        quantity: 2,
      });
      assert.deepEqual(
        two.windows.map((w) => [hhmm(w.start), hhmm(w.end), w.free]),
        [
          ["08:00", "10:00", 4],
          ["12:00", "16:00", 3],
        ],
      );
      const exclusive = await t.client.available({
        resourceId: "room-free",
        start: hour(8),
        end: hour(9),
      });
      assert.equal(exclusive.windows[0]?.free, 1);
    });

    it("PutResource refuses to lower the capacity below future use, naming the window and the use; raising always works", async () => {
      await t.resources.putResource({ resource: { id: "vans", capacity: 4 } });
      await reserve("vans", 9, 11, 2);
      await reserve("vans", 10, 12, 2);
      const err = await rejectsWith(
        t.resources.putResource({ resource: { id: "vans", capacity: 3 } }),
        status.FAILED_PRECONDITION,
      );
      assert.match(err.message, /4 units in use from 2030-01-01T10:00:00Z to 2030-01-01T11:00:00Z/);
      await t.resources.putResource({ resource: { id: "vans", capacity: 6 } });
      assert.equal((await reserve("vans", 10, 11, 2)).reservation?.quantity, 2);
      // Down to exactly what is used works; to exclusive when nothing overlaps works too.
      await t.resources.putResource({ resource: { id: "vans", capacity: 6 } });
      await t.resources.putResource({ resource: { id: "trucks", capacity: 3 } });
      const a = await reserve("trucks", 9, 10);
      await reserve("trucks", 10, 11);
      await t.resources.putResource({ resource: { id: "trucks", capacity: 1 } });
      await rejectsWith(reserve("trucks", 9.5, 10.5), status.ALREADY_EXISTS);
      await t.client.cancel({ id: a.reservation?.id ?? "" });
      await reserve("trucks", 9, 10);
    });

    it("update: more units is a reschedule in units, with the capacity rules of reserve", async () => {
      await t.resources.putResource({ resource: { id: "boats", capacity: 3 } });
      const a = await reserve("boats", 9, 10, 1);
      await reserve("boats", 9, 10, 1);
      const id = a.reservation?.id ?? "";
      const grown = await t.client.update({ id, quantity: 2 });
      assert.equal(grown.reservation?.quantity, 2);
      const err = await rejectsWith(t.client.update({ id, quantity: 3 }), status.ALREADY_EXISTS);
      assert.equal(err.conflict?.free, 2, "free for it: the units it holds are not in its way");
      assert.equal(hhmm(err.conflict?.requestedStart), "09:00");
      await rejectsWith(t.client.update({ id, quantity: 4 }), status.INVALID_ARGUMENT);
      const moved = await t.client.update({ id, start: hour(10), end: hour(11), quantity: 3 });
      assert.equal(moved.reservation?.quantity, 3);
      await rejectsWith(
        t.client.update({ id, start: hour(9), end: hour(11) }),
        status.ALREADY_EXISTS,
      );
    });

    it("a pool reserve with a quantity picks a member with enough free units, in id order", async () => {
      await t.resources.putResource({ resource: { id: "bay-a", pool: "bays", capacity: 2 } });
      await t.resources.putResource({ resource: { id: "bay-b", pool: "bays", capacity: 5 } });
      await t.resources.putResource({ resource: { id: "bay-c", pool: "bays", capacity: 5 } });
      const pool = (quantity: number) =>
        t.client.reserve({
          pool: "bays",
          reservation: { userId: "bob", start: hour(9), end: hour(10), quantity },
        });
      assert.equal((await pool(2)).reservation?.resourceId, "bay-a");
      assert.equal((await pool(3)).reservation?.resourceId, "bay-b", "bay-a has too few");
      assert.equal((await pool(3)).reservation?.resourceId, "bay-c");
      await rejectsWith(pool(6), status.INVALID_ARGUMENT);
      const full = await rejectsWith(pool(3), status.ALREADY_EXISTS);
      assert.equal(full.conflict?.resourceId, "bay-b");
      assert.equal(full.conflict?.free, 2);
    });

    it("one batch of reserves takes the units in order: exactly the capacity goes in", async () => {
      await t.resources.putResource({ resource: { id: "batch-seats", capacity: 10 } });
      await t.resources.putResource({
        resource: {
          id: "batch-quota",
          rules: { quota: { period: QuotaPeriod.DAY, maxReservations: 3 } },
        },
      });
      const base = { status: "confirmed" as const, note: "" };
      const seats = await reserveMany(
        t.app.db,
        Array.from({ length: 16 }, (_, i) => ({
          ...base,
          userId: `u${i}`,
          resourceId: "batch-seats",
          start: 1_900_000_000_000_000n,
          end: 1_900_003_600_000_000n,
        })),
      );
      assert.deepEqual(
        seats.map((o) => o.kind),
        [...Array(10).fill("created"), ...Array(6).fill("conflict")],
      );
      const quota = await reserveMany(
        t.app.db,
        Array.from({ length: 5 }, (_, i) => ({
          ...base,
          userId: "carol",
          resourceId: "batch-quota",
          start: 1_900_000_000_000_000n + BigInt(i) * 3_600_000_000n,
          end: 1_900_001_800_000_000n + BigInt(i) * 3_600_000_000n,
        })),
      );
      assert.deepEqual(
        quota.map((o) => o.kind),
        ["created", "created", "created", "rule", "rule"],
      );
    });

    it("quotas: FAILED_PRECONDITION naming the quota, checked before clashes, per period in the resource's time zone", async () => {
      await t.resources.putResource({
        resource: {
          id: "room-4",
          timeZone: "Europe/Berlin",
          rules: { quota: { period: QuotaPeriod.DAY, maxReservations: 2 } },
        },
      });
      await reserve("room-4", 8, 9);
      await reserve("room-4", 10, 11);
      const err = await rejectsWith(reserve("room-4", 12, 13), status.FAILED_PRECONDITION);
      assert.match(err.message, /alice may book room-4 at most 2 times a day/);
      // Before clashes: a window that is also taken is refused for the quota.
      await rejectsWith(reserve("room-4", 8, 9), status.FAILED_PRECONDITION);
      // 23:30 UTC is the next day in Berlin; other users and blocks do not count.
      await reserve("room-4", 23.5, 24);
      await reserve("room-4", 12, 13, 0, "bob");
      await reserve("room-4", 14, 15, 0, "ops", S.BLOCKED);
      // Reschedules count too: a move into a full day is refused, within it is fine.
      const next = await reserve("room-4", 24 + 8, 24 + 9);
      await rejectsWith(
        t.client.update({ id: next.reservation?.id ?? "", start: hour(16), end: hour(17) }),
        status.FAILED_PRECONDITION,
      );
      await t.client.update({ id: next.reservation?.id ?? "", start: hour(34), end: hour(35) });
    });

    it("quotas: booked time, per pool, and invalid quotas", async () => {
      await t.resources.putResource({
        resource: {
          id: "court-1",
          pool: "courts",
          rules: { quota: { period: QuotaPeriod.WEEK, maxTime: hours(2), perPool: true } },
        },
      });
      await t.resources.putResource({ resource: { id: "court-2", pool: "courts" } });
      await reserve("court-2", 9, 10.5, 0, "dan");
      const err = await rejectsWith(
        reserve("court-1", 12, 13, 0, "dan"),
        status.FAILED_PRECONDITION,
      );
      assert.match(err.message, /dan may book pool courts for at most 2h a week/);
      await reserve("court-1", 12, 12.5, 0, "dan");
      // 2030-01-07 is a Monday: a new ISO week.
      await reserve("court-1", 6 * 24 + 9, 6 * 24 + 11, 0, "dan");
      await rejectsWith(
        t.resources.putResource({
          resource: { id: "bad", rules: { quota: { maxReservations: 2 } } },
        }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        t.resources.putResource({
          resource: {
            id: "bad",
            rules: { quota: { period: QuotaPeriod.DAY, maxReservations: -1 } },
          },
        }),
        status.INVALID_ARGUMENT,
      );
      const got = await t.resources.getResource({ id: "court-1" });
      assert.equal(got.rules?.quota?.period, QuotaPeriod.WEEK);
      assert.equal(got.rules?.quota?.maxTime?.seconds, 7200n);
      assert.equal(got.rules?.quota?.perPool, true);
    });

    it("a pool reserve skips members where the user is at quota; FAILED_PRECONDITION when only those are left", async () => {
      const quota = { period: QuotaPeriod.DAY, maxReservations: 1 };
      await t.resources.putResource({ resource: { id: "k-1", pool: "kayaks", rules: { quota } } });
      await t.resources.putResource({ resource: { id: "k-2", pool: "kayaks", rules: { quota } } });
      const pool = (from: number) =>
        t.client.reserve({
          pool: "kayaks",
          reservation: { userId: "erin", start: hour(from), end: hour(from + 1) },
        });
      assert.equal((await pool(9)).reservation?.resourceId, "k-1");
      assert.equal((await pool(11)).reservation?.resourceId, "k-2");
      const err = await rejectsWith(pool(13), status.FAILED_PRECONDITION);
      assert.match(err.message, /erin may book k-1 at most 1 time a day/);
    });

    it("a series that breaks the quota on any occurrence is refused whole, or skips those occurrences", async () => {
      await t.resources.putResource({
        resource: {
          id: "studio",
          capacity: 2,
          rules: { quota: { period: QuotaPeriod.WEEK, maxReservations: 2 } },
        },
      });
      const first = {
        reservation: {
          userId: "fay",
          resourceId: "studio",
          start: ts("2030-01-07T09:00:00Z"),
          end: ts("2030-01-07T10:00:00Z"),
        },
      };
      const err = await rejectsWith(
        t.client.reserveSeries({ first, rrule: "FREQ=DAILY;COUNT=3" }),
        status.FAILED_PRECONDITION,
      );
      assert.match(err.message, /item 2: fay may book studio at most 2 times a week/);
      const none = await collect(t.client.query({ resourceId: "studio" }));
      assert.equal(none.length, 0, "nothing of the refused series was stored");
      const skipping = await t.client.reserveSeries({
        first,
        rrule: "FREQ=DAILY;COUNT=3",
        skipConflicts: true,
      });
      assert.equal(skipping.reservations.length, 2);
      assert.deepEqual(
        skipping.skipped.map((s) => s.item),
        [2],
      );
      // A quantity in a series: every occurrence takes its units.
      const two = await t.client.reserveSeries({
        first: { reservation: { ...first.reservation, userId: "gus", quantity: 2 } },
        rrule: "FREQ=DAILY;COUNT=2",
        skipConflicts: true,
      });
      assert.deepEqual(
        two.skipped.map((s) => [s.item, s.free]),
        [
          [0, 1],
          [1, 1],
        ],
      );
    });

    it("reserveAll all or nothing over counted resources", async () => {
      await t.resources.putResource({ resource: { id: "van", capacity: 2 } });
      const item = (from: number, quantity: number) => ({
        reservation: {
          userId: "hal",
          resourceId: "van",
          start: hour(from),
          end: hour(from + 1),
          quantity,
        },
      });
      const made = await t.client.reserveAll({ items: [item(9, 1), item(9, 1)] });
      assert.deepEqual(
        made.reservations.map((r) => r.quantity),
        [1, 1],
      );
      const err = await rejectsWith(
        t.client.reserveAll({ items: [item(12, 2), item(9, 1)] }),
        status.ALREADY_EXISTS,
      );
      assert.equal(err.conflict?.item, 1);
      assert.equal(err.conflict?.free, 0);
      await rejectsWith(t.client.reserveAll({ items: [item(12, 3)] }), status.INVALID_ARGUMENT);
      const left = await collect(
        t.client.query({ resourceId: "van", start: hour(12), end: hour(13) }),
      );
      assert.equal(left.length, 0);
    });
  });
}
