import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { releaseLapses } from "../src/db/store/lapses.js";
import {
  ReservationUpdateType as Op,
  ReservationStatus as S,
} from "../src/gen/reservation/reservation_pb.js";
import { lapseHolds, passTime } from "./helpers/backdate.js";
import { backends } from "./helpers/databases.js";
import { collect, hour, rejectsWith } from "./helpers/fixtures.js";
import { eventually } from "./helpers/harness.js";
import { collectListen } from "./helpers/listener.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

/** `m` minutes from now, as a Timestamp (whole milliseconds). */
const minutes = (m: number): Timestamp => {
  const ms = Date.now() + m * 60_000;
  return create(TimestampSchema, {
    seconds: BigInt(Math.floor(ms / 1000)),
    nanos: (ms % 1000) * 1_000_000,
  });
};
const seconds = (s: number) => ({ seconds: BigInt(s) });

for (const backend of backends) {
  describe(`the life of a booking (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    const book = async (
      resourceId: string,
      start: Timestamp,
      end: Timestamp,
      more: { wait?: boolean; userId?: string; status?: S; quantity?: number; hold?: number } = {},
    ) => {
      const { reservation } = await t.client.reserve({
        reservation: {
          userId: more.userId ?? "alice",
          resourceId,
          start,
          end,
          status: more.status ?? S.CONFIRMED,
          quantity: more.quantity ?? 0,
        },
        wait: more.wait ?? false,
        holdSeconds: more.hold ?? 0,
      });
      assert.ok(reservation);
      return reservation;
    };
    const statusOf = async (id: string) => (await t.client.get({ id })).reservation?.status;

    it("check-in opens check_in_opens before the start (15 minutes by default), until the end, once", async () => {
      await t.resources.putResource({ resource: { id: "ci-room" } });
      const soon = await book("ci-room", minutes(10), minutes(70));
      const first = await t.client.checkIn({ id: soon.id });
      assert.ok(first.reservation?.checkedInAt, "checked in 10 minutes ahead");
      assert.equal(first.reservation?.status, S.CONFIRMED, "nothing else changes");
      const again = await t.client.checkIn({ id: soon.id });
      assert.deepEqual(again.reservation?.checkedInAt, first.reservation?.checkedInAt, "set once");

      const later = await book("ci-room", minutes(75), minutes(90));
      const early = await rejectsWith(
        t.client.checkIn({ id: later.id }),
        status.FAILED_PRECONDITION,
      );
      assert.match(early.message, /cannot be checked in before/);
      await t.resources.putResource({
        resource: { id: "ci-room", rules: { checkInOpens: seconds(7200) } },
      });
      assert.ok((await t.client.checkIn({ id: later.id })).reservation?.checkedInAt);

      const past = await book("ci-room", minutes(-120), minutes(-60));
      const late = await rejectsWith(t.client.checkIn({ id: past.id }), status.FAILED_PRECONDITION);
      assert.match(late.message, /ended at/);

      const gone = await book("ci-room", minutes(100), minutes(110));
      await t.client.cancel({ id: gone.id });
      await rejectsWith(t.client.checkIn({ id: gone.id }), status.FAILED_PRECONDITION);
      const hold = await book("ci-room", minutes(130), minutes(140), {
        status: S.PENDING,
        hold: 60,
      });
      await lapseHolds(t.app.db, [hold.id]);
      const expired = await rejectsWith(
        t.client.checkIn({ id: hold.id }),
        status.FAILED_PRECONDITION,
      );
      assert.match(expired.message, /expired/);
      const block = await book("ci-room", minutes(150), minutes(160), { status: S.BLOCKED });
      await rejectsWith(t.client.checkIn({ id: block.id }), status.FAILED_PRECONDITION);
    });

    it("a check-in is an UPDATE on listen, carrying checked_in_at", async () => {
      await t.resources.putResource({ resource: { id: "ci-feed" } });
      const r = await book("ci-feed", minutes(5), minutes(30));
      const l = collectListen(t.client, { resourceId: "ci-feed" });
      await l.opened;
      await t.client.checkIn({ id: r.id });
      const [e] = await l.waitFor(1);
      l.stop();
      assert.equal(e?.op, Op.UPDATE);
      assert.ok(e?.reservation?.checkedInAt);
      assert.equal(e?.previous?.checkedInAt, undefined);
    });

    it("cancel stores its reason (at most 500 characters); listen carries it", async () => {
      const r = await book("reasons", hour(1), hour(2));
      const l = collectListen(t.client, { resourceId: "reasons" });
      await l.opened;
      const done = await t.client.cancel({ id: r.id, reason: "team offsite moved" });
      assert.equal(done.reservation?.cancelReason, "team offsite moved");
      const [e] = await l.waitFor(1);
      l.stop();
      assert.equal(e?.op, Op.DELETE);
      assert.equal(e?.reservation?.cancelReason, "team offsite moved");
      const other = await book("reasons", hour(3), hour(4));
      // 500 characters of two UTF-16 units each are fine; 501 are not.
      await rejectsWith(
        t.client.cancel({ id: other.id, reason: "🙂".repeat(501) }),
        status.INVALID_ARGUMENT,
      );
      const ok = await t.client.cancel({ id: other.id, reason: "🙂".repeat(500) });
      assert.equal(ok.reservation?.cancelReason, "🙂".repeat(500));
    });

    it("a wait books a free window as usual, and waits for a taken one (WAITING occupies nothing)", async () => {
      const free = await book("wl-room", hour(9), hour(10), { wait: true });
      assert.equal(free.status, S.CONFIRMED);
      const waiting = await book("wl-room", hour(9.5), hour(10.5), { wait: true, userId: "bob" });
      assert.equal(waiting.status, S.WAITING);
      // It occupies nothing: 10:00-10:30 stays free for anyone.
      const after10 = await book("wl-room", hour(10), hour(10.5), { userId: "carol" });
      assert.equal(after10.status, S.CONFIRMED);
      const { windows } = await t.client.available({
        resourceId: "wl-room",
        start: hour(8),
        end: hour(12),
      });
      assert.deepEqual(
        windows.map((w) => [w.start?.seconds, w.end?.seconds]),
        [
          [hour(8).seconds, hour(9).seconds],
          [hour(10.5).seconds, hour(12).seconds],
        ],
      );
      // Left out of query unless asked for by status.
      const live = await collect(t.client.query({ resourceId: "wl-room" }));
      assert.deepEqual(live.map((r) => r.userId).sort(), ["alice", "carol"]);
      const waits = await collect(t.client.query({ resourceId: "wl-room", status: S.WAITING }));
      assert.deepEqual(
        waits.map((r) => r.id),
        [waiting.id],
      );
      const page = await t.client.filter({ resourceId: "wl-room", status: S.WAITING });
      assert.deepEqual(
        page.reservations.map((r) => r.id),
        [waiting.id],
      );
      // Cannot be confirmed, checked in or rescheduled; can be cancelled.
      const c = await rejectsWith(t.client.confirm({ id: waiting.id }), status.FAILED_PRECONDITION);
      assert.match(c.message, /waiting/);
      await rejectsWith(t.client.checkIn({ id: waiting.id }), status.FAILED_PRECONDITION);
      await rejectsWith(
        t.client.update({ id: waiting.id, start: hour(11), end: hour(12) }),
        status.FAILED_PRECONDITION,
      );
      const cancelled = await t.client.cancel({ id: waiting.id });
      assert.equal(cancelled.reservation?.status, S.CANCELLED);
    });

    it("a wait on a pool, as BLOCKED, or with expires_at is INVALID_ARGUMENT; rules still apply", async () => {
      await t.resources.putResource({ resource: { id: "wl-pool-1", pool: "wl-pool" } });
      const pool = await rejectsWith(
        t.client.reserve({
          reservation: { userId: "alice", start: hour(1), end: hour(2) },
          pool: "wl-pool",
          wait: true,
        }),
        status.INVALID_ARGUMENT,
      );
      assert.match(pool.message, /pool/);
      await rejectsWith(
        book("wl-rules", hour(1), hour(2), { wait: true, status: S.BLOCKED }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        t.client.reserve({
          reservation: {
            userId: "alice",
            resourceId: "wl-rules",
            start: hour(1),
            end: hour(2),
            expiresAt: minutes(10),
          },
          wait: true,
        }),
        status.INVALID_ARGUMENT,
      );
      await t.resources.putResource({
        resource: { id: "wl-rules", rules: { maxDuration: seconds(3600) } },
      });
      await book("wl-rules", hour(1), hour(2));
      await rejectsWith(
        book("wl-rules", hour(1), hour(3), { wait: true }),
        status.FAILED_PRECONDITION,
      );
    });

    it("a wait with a request_id is idempotent", async () => {
      await book("wl-keys", hour(1), hour(2));
      const req = {
        reservation: { userId: "bob", resourceId: "wl-keys", start: hour(1), end: hour(2) },
        wait: true,
        requestId: "bob-wait-1",
      };
      const first = await t.client.reserve(req);
      const again = await t.client.reserve(req);
      assert.equal(first.reservation?.status, S.WAITING);
      assert.equal(again.reservation?.id, first.reservation?.id);
      await rejectsWith(
        t.client.reserve({ ...req, reservation: { ...req.reservation, end: hour(3) } }),
        status.INVALID_ARGUMENT,
      );
    });

    it("a cancel promotes the oldest waits that now fit, in its transaction; a later one that fits goes first", async () => {
      const held = await book("fifo", hour(9), hour(11));
      await book("fifo", hour(11), hour(12), { userId: "zoe" });
      const tooLong = await book("fifo", hour(9), hour(11.5), { wait: true, userId: "w1" });
      const fits = await book("fifo", hour(9), hour(10), { wait: true, userId: "w2" });
      const second = await book("fifo", hour(9.5), hour(10.5), { wait: true, userId: "w3" });
      const pending = await book("fifo", hour(10), hour(11), {
        wait: true,
        userId: "w4",
        status: S.PENDING,
      });
      const l = collectListen(t.client, { resourceId: "fifo" });
      await l.opened;
      await t.client.cancel({ id: held.id });
      const events = await l.waitFor(3);
      l.stop();
      assert.deepEqual(
        events.map((e) => [e.op, e.reservation?.userId, e.reservation?.status]),
        [
          [Op.DELETE, "alice", S.CANCELLED],
          [Op.UPDATE, "w2", S.CONFIRMED],
          [Op.UPDATE, "w4", S.PENDING],
        ],
        "one transaction: the cancel, then the promotions oldest first",
      );
      assert.equal(events[1]?.previous?.status, S.WAITING);
      assert.equal(await statusOf(tooLong.id), S.WAITING, "still clashes with 11:00-12:00");
      assert.equal(await statusOf(second.id), S.WAITING, "clashes with w2, which came first");
      assert.equal(await statusOf(fits.id), S.CONFIRMED);
      assert.equal(await statusOf(pending.id), S.PENDING, "promoted to the status it asked for");
    });

    it("a reschedule away, fewer units, a raised capacity and an expired hold each promote", async () => {
      // Reschedule away.
      const r = await book("free-kinds", hour(9), hour(10));
      const w = await book("free-kinds", hour(9), hour(10), { wait: true, userId: "bob" });
      await t.client.update({ id: r.id, start: hour(14), end: hour(15) });
      assert.equal(await statusOf(w.id), S.CONFIRMED);

      // A counted resource: fewer units, then more capacity.
      await t.resources.putResource({ resource: { id: "desks-wl", capacity: 3 } });
      const three = await book("desks-wl", hour(9), hour(10), { quantity: 3 });
      const two = await book("desks-wl", hour(9), hour(10), {
        wait: true,
        userId: "bob",
        quantity: 2,
      });
      const one = await book("desks-wl", hour(9), hour(10), { wait: true, userId: "carol" });
      assert.equal(two.status, S.WAITING);
      await t.client.update({ id: three.id, quantity: 2 });
      assert.equal(await statusOf(two.id), S.WAITING, "one unit free: two do not fit");
      assert.equal(await statusOf(one.id), S.CONFIRMED, "one unit free: one fits");
      await t.resources.putResource({ resource: { id: "desks-wl", capacity: 5 } });
      assert.equal(await statusOf(two.id), S.CONFIRMED, "capacity raised to 5: two more fit");

      // A hold that expires; the wait's own hold starts at its promotion.
      const hold = await book("hold-wl", hour(9), hour(10), { status: S.PENDING, hold: 600 });
      const next = await book("hold-wl", hour(9), hour(10), {
        wait: true,
        userId: "bob",
        status: S.PENDING,
        hold: 3600,
      });
      assert.equal(next.expiresAt, undefined, "no hold while it waits");
      const beforeRelease = Date.now();
      await lapseHolds(t.app.db, [hold.id]);
      const promoted = await eventually(async () => {
        const got = (await t.client.get({ id: next.id })).reservation;
        return got?.status === S.PENDING ? got : undefined;
      }, "the sweeper's release of the hold to promote the wait");
      const expiry = Number(promoted.expiresAt?.seconds ?? 0n) * 1000;
      assert.ok(expiry >= beforeRelease + 3_590_000, "an hour from its promotion");
    });

    it("waits never count against a quota, and one that would break it stays waiting", async () => {
      await t.resources.putResource({
        resource: {
          id: "quota-wl",
          rules: { quota: { period: 1, maxReservations: 1 } },
        },
      });
      const bobs = await book("quota-wl", hour(9), hour(10), { userId: "bob" });
      const wait = await book("quota-wl", hour(9), hour(10), { wait: true, userId: "dan" });
      // The wait does not count: dan may still book once that day.
      const booked = await book("quota-wl", hour(14), hour(15), { userId: "dan" });
      assert.equal(booked.status, S.CONFIRMED);
      await t.client.cancel({ id: bobs.id });
      assert.equal(await statusOf(wait.id), S.WAITING, "promoting it would break dan's quota");
      await rejectsWith(
        book("quota-wl", hour(16), hour(17), { wait: true, userId: "dan" }),
        status.FAILED_PRECONDITION,
      );
    });

    it("a wait still waiting at its start is cancelled with 'wait expired'", async () => {
      await book("expiry-wl", minutes(30), minutes(60));
      const w = await book("expiry-wl", minutes(30), minutes(60), { wait: true, userId: "bob" });
      const l = collectListen(t.client, { resourceId: "expiry-wl" });
      await l.opened;
      await passTime(t.app.db, "expiry-wl", 31 * 60);
      const [e] = await l.waitFor(1);
      l.stop();
      assert.equal(e?.op, Op.DELETE);
      assert.equal(e?.reservation?.id, w.id);
      assert.equal(e?.reservation?.cancelReason, "wait expired");
    });

    it("a reservation not checked in by start + release_after is released as a no-show; the waiter gets it", async () => {
      await t.resources.putResource({
        resource: {
          id: "ns-room",
          rules: { releaseAfter: seconds(600), checkInOpens: seconds(3600) },
        },
      });
      const shows = await book("ns-room", minutes(1), minutes(4), { userId: "bob" });
      const noShow = await book("ns-room", minutes(5), minutes(40));
      const waiter = await book("ns-room", minutes(20), minutes(40), { wait: true, userId: "cat" });
      const block = await book("ns-room", minutes(90), minutes(95), { status: S.BLOCKED });
      await t.client.checkIn({ id: shows.id });
      const l = collectListen(t.client, { resourceId: "ns-room" });
      await l.opened;
      // 14 minutes on: bob's release time has passed, but he checked in; alice's (5 + 10) is
      // still a minute away. The sweeper's own release finds nothing to do.
      await passTime(t.app.db, "ns-room", 14 * 60);
      assert.equal(await releaseLapses(t.app.db, "ns-room"), 0);
      assert.equal(await statusOf(noShow.id), S.CONFIRMED);
      assert.equal(await statusOf(shows.id), S.CONFIRMED);
      // A minute more: released, and the waiter promoted in the same transaction.
      await passTime(t.app.db, "ns-room", 60);
      const events = await l.waitFor(2);
      l.stop();
      assert.deepEqual(
        events.map((e) => [e.op, e.reservation?.id, e.reservation?.cancelReason]),
        [
          [Op.DELETE, noShow.id, "no-show"],
          [Op.UPDATE, waiter.id, ""],
        ],
      );
      assert.equal(await statusOf(block.id), S.BLOCKED, "blocked windows are exempt");
      // A check-in after the release is refused, saying why.
      const refused = await rejectsWith(
        t.client.checkIn({ id: noShow.id }),
        status.FAILED_PRECONDITION,
      );
      assert.match(refused.message, /no-show/);
    });

    it("with authentication off every caller is an admin: approval changes nothing", async () => {
      await t.resources.putResource({ resource: { id: "approval-open", approval: true } });
      const r = await book("approval-open", hour(1), hour(2));
      assert.equal(r.status, S.CONFIRMED);
      const p = await book("approval-open", hour(3), hour(4), { status: S.PENDING });
      assert.equal((await t.client.confirm({ id: p.id })).reservation?.status, S.CONFIRMED);
      const got = await t.resources.getResource({ id: "approval-open" });
      assert.equal(got.approval, true);
    });

    it("series max_skipped: above the limit nothing is booked and every clash is named; at it, the rest is booked", async () => {
      for (const d of [1, 2, 3]) await book("series-room", hour(24 * d + 9), hour(24 * d + 10));
      const series = (maxSkipped: number, skipConflicts = true) =>
        t.client.reserveSeries({
          first: {
            reservation: {
              userId: "bob",
              resourceId: "series-room",
              start: hour(9),
              end: hour(10),
            },
          },
          rrule: "FREQ=DAILY;COUNT=6",
          skipConflicts,
          maxSkipped,
        });
      const over = await rejectsWith(series(2), status.ALREADY_EXISTS);
      assert.match(over.message, /^3 occurrences clash, more than max_skipped 2/);
      assert.match(over.message, /item 1: .*; item 2: .*; item 3: /);
      assert.equal(over.conflict?.item, 1);
      const none = await collect(t.client.query({ resourceId: "series-room", userId: "bob" }));
      assert.equal(none.length, 0, "nothing was booked");
      const at = await series(3);
      assert.equal(at.reservations.length, 3);
      assert.deepEqual(
        at.skipped.map((c) => c.item),
        [1, 2, 3],
      );
      await rejectsWith(series(1, false), status.INVALID_ARGUMENT);
      await rejectsWith(series(-1), status.INVALID_ARGUMENT);
    });
  });
}
