import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { collect, hour, rejectsWith, ts } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = "00000000-0000-4000-8000-000000000000";

for (const backend of backends) {
  describe(`core rpcs (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    const reserve = (resourceId: string, from: number, to: number, extra: object = {}) =>
      t.client.reserve({
        reservation: { userId: "alice", resourceId, start: hour(from), end: hour(to), ...extra },
      });

    it("reserve assigns a uuid, makes UNKNOWN pending, and stores microseconds exactly", async () => {
      const { reservation } = await t.client.reserve({
        reservation: {
          userId: "alice",
          resourceId: "room-precision",
          start: ts("2030-01-01T10:00:00.000Z", 123_456_789),
          end: ts("2030-01-01T11:00:00.000Z", 999),
          note: "quarterly review",
        },
      });
      assert.ok(reservation);
      assert.match(reservation.id, UUID);
      assert.equal(reservation.status, S.PENDING);
      assert.equal(reservation.start?.nanos, 123_456_000, "truncated to microseconds");
      assert.equal(reservation.end?.nanos, 0);
      const got = await t.client.get({ id: reservation.id });
      assert.deepEqual(got.reservation, reservation, "what comes back is what was stored");
    });

    it("accepts CONFIRMED and BLOCKED, rejects CANCELLED", async () => {
      const c = await reserve("room-status", 0, 1, { status: S.CONFIRMED });
      assert.equal(c.reservation?.status, S.CONFIRMED);
      const b = await reserve("room-status", 1, 2, { status: S.BLOCKED });
      assert.equal(b.reservation?.status, S.BLOCKED);
      await rejectsWith(
        reserve("room-status", 2, 3, { status: S.CANCELLED }),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(reserve("room-status", 2, 3, { status: 42 }), status.INVALID_ARGUMENT);
    });

    it("rejects malformed reservations with INVALID_ARGUMENT", async () => {
      const bad: Array<[string, object]> = [
        ["no reservation", {}],
        ["empty user", { reservation: { resourceId: "r", start: hour(0), end: hour(1) } }],
        ["empty resource", { reservation: { userId: "u", start: hour(0), end: hour(1) } }],
        ["no start", { reservation: { userId: "u", resourceId: "r", end: hour(1) } }],
        ["no end", { reservation: { userId: "u", resourceId: "r", start: hour(0) } }],
        [
          "start = end",
          { reservation: { userId: "u", resourceId: "r", start: hour(1), end: hour(1) } },
        ],
        [
          "start > end",
          { reservation: { userId: "u", resourceId: "r", start: hour(2), end: hour(1) } },
        ],
        [
          "65-char user",
          {
            reservation: { userId: "u".repeat(65), resourceId: "r", start: hour(0), end: hour(1) },
          },
        ],
        [
          "control char",
          { reservation: { userId: "u\n", resourceId: "r", start: hour(0), end: hour(1) } },
        ],
        [
          "huge note",
          {
            reservation: {
              userId: "u",
              resourceId: "r",
              start: hour(0),
              end: hour(1),
              note: "x".repeat(4097),
            },
          },
        ],
        [
          "NUL note",
          {
            reservation: {
              userId: "u",
              resourceId: "r",
              start: hour(0),
              end: hour(1),
              note: "a\u0000b",
            },
          },
        ],
        [
          "year 10000",
          {
            reservation: {
              userId: "u",
              resourceId: "r",
              start: hour(0),
              end: { seconds: 253402300800n },
            },
          },
        ],
      ];
      for (const [why, req] of bad) {
        const err = await rejectsWith(t.client.reserve(req), status.INVALID_ARGUMENT);
        assert.ok(err.message.length > 0, why);
      }
      const ok = await reserve("u".repeat(64), 0, 1);
      assert.equal(
        ok.reservation?.resourceId.length,
        64,
        "64 characters is the limit, not past it",
      );
    });

    it("an overlap is ALREADY_EXISTS naming the clashing window, with a structured detail", async () => {
      await reserve("room-clash", 10, 12);
      const err = await rejectsWith(reserve("room-clash", 11, 13), status.ALREADY_EXISTS);
      assert.match(err.message, /2030-01-01T10:00:00Z, 2030-01-01T12:00:00Z/);
      assert.ok(err.conflict, "ReservationConflict detail present");
      assert.equal(err.conflict.resourceId, "room-clash");
      assert.deepEqual(err.conflict.existingStart, hour(10));
      assert.deepEqual(err.conflict.existingEnd, hour(12));
      assert.deepEqual(err.conflict.requestedStart, hour(11));
      assert.deepEqual(err.conflict.requestedEnd, hour(13));
      await rejectsWith(reserve("room-clash", 9, 14), status.ALREADY_EXISTS);
      await rejectsWith(reserve("room-clash", 10.5, 11), status.ALREADY_EXISTS);
    });

    it("half-open windows: back-to-back never conflicts; other resources are independent", async () => {
      await reserve("room-touch", 10, 11);
      await reserve("room-touch", 11, 12);
      await reserve("room-touch", 9, 10);
      await reserve("room-other", 10, 11);
    });

    it("confirm: pending becomes confirmed, again is unchanged, blocked and cancelled fail", async () => {
      const p = (await reserve("room-confirm", 0, 1)).reservation;
      assert.ok(p);
      const c1 = await t.client.confirm({ id: p.id });
      assert.equal(c1.reservation?.status, S.CONFIRMED);
      const c2 = await t.client.confirm({ id: p.id });
      assert.deepEqual(c2.reservation, c1.reservation);
      const b = (await reserve("room-confirm", 1, 2, { status: S.BLOCKED })).reservation;
      await rejectsWith(t.client.confirm({ id: b?.id ?? "" }), status.FAILED_PRECONDITION);
      const x = (await reserve("room-confirm", 2, 3)).reservation;
      await t.client.cancel({ id: x?.id ?? "" });
      await rejectsWith(t.client.confirm({ id: x?.id ?? "" }), status.FAILED_PRECONDITION);
    });

    it("update changes the note; a cancelled reservation cannot be updated", async () => {
      const r = (await reserve("room-update", 0, 1, { note: "before" })).reservation;
      assert.ok(r);
      const u = await t.client.update({ id: r.id, note: "after" });
      assert.equal(u.reservation?.note, "after");
      assert.equal((await t.client.get({ id: r.id })).reservation?.note, "after");
      await rejectsWith(
        t.client.update({ id: r.id, note: "y".repeat(4097) }),
        status.INVALID_ARGUMENT,
      );
      await t.client.cancel({ id: r.id });
      await rejectsWith(t.client.update({ id: r.id, note: "again" }), status.FAILED_PRECONDITION);
    });

    it("cancel keeps the row, frees the window at once, and is idempotent", async () => {
      const r = (await reserve("room-cancel", 0, 2)).reservation;
      assert.ok(r);
      const c1 = await t.client.cancel({ id: r.id });
      assert.equal(c1.reservation?.status, S.CANCELLED);
      const c2 = await t.client.cancel({ id: r.id });
      assert.deepEqual(c2.reservation, c1.reservation);
      assert.equal((await t.client.get({ id: r.id })).reservation?.status, S.CANCELLED);
      await reserve("room-cancel", 1, 3);
    });

    it("unknown ids are NOT_FOUND and malformed ids INVALID_ARGUMENT, on every rpc", async () => {
      await rejectsWith(t.client.get({ id: MISSING }), status.NOT_FOUND);
      await rejectsWith(t.client.confirm({ id: MISSING }), status.NOT_FOUND);
      await rejectsWith(t.client.cancel({ id: MISSING }), status.NOT_FOUND);
      await rejectsWith(t.client.update({ id: MISSING, note: "n" }), status.NOT_FOUND);
      for (const id of ["", "nope", "'; DROP TABLE rsvp.reservations; --"]) {
        await rejectsWith(t.client.get({ id }), status.INVALID_ARGUMENT);
        await rejectsWith(t.client.confirm({ id }), status.INVALID_ARGUMENT);
        await rejectsWith(t.client.cancel({ id }), status.INVALID_ARGUMENT);
        await rejectsWith(t.client.update({ id, note: "n" }), status.INVALID_ARGUMENT);
      }
    });

    it("query filters by resource, user, status and overlapping window, ordered by start", async () => {
      const mk = (resourceId: string, userId: string, from: number, to: number, st = S.PENDING) =>
        t.client.reserve({
          reservation: { userId, resourceId, start: hour(from), end: hour(to), status: st },
        });
      const a = (await mk("q-a", "ann", 100, 103)).reservation;
      const b = (await mk("q-b", "bob", 101, 102, S.CONFIRMED)).reservation;
      const c = (await mk("q-a", "bob", 104, 105)).reservation;
      const d = (await mk("q-b", "ann", 106, 108)).reservation;
      await t.client.cancel({ id: (await mk("q-a", "ann", 110, 111)).reservation?.id ?? "" });
      const ids = (xs: Array<{ id: string }>) => xs.map((x) => x.id);
      const window = { start: hour(100), end: hour(109) };

      assert.deepEqual(
        ids(await collect(t.client.query({ ...window }))),
        ids([a, b, c, d].map((x) => x ?? { id: "" })),
      );
      assert.deepEqual(
        ids(await collect(t.client.query({ ...window, desc: true }))),
        ids([d, c, b, a].map((x) => x ?? { id: "" })),
      );
      assert.deepEqual(ids(await collect(t.client.query({ ...window, resourceId: "q-a" }))), [
        a?.id,
        c?.id,
      ]);
      assert.deepEqual(ids(await collect(t.client.query({ ...window, userId: "ann" }))), [
        a?.id,
        d?.id,
      ]);
      assert.deepEqual(ids(await collect(t.client.query({ ...window, status: S.CONFIRMED }))), [
        b?.id,
      ]);
      // A window starting inside a(100-103) and b(101-102) still returns them: overlap, not containment.
      assert.deepEqual(ids(await collect(t.client.query({ start: hour(101.5), end: hour(104) }))), [
        a?.id,
        b?.id,
      ]);
      // Half-open: a window ending exactly where c begins does not include c.
      assert.deepEqual(
        ids(await collect(t.client.query({ start: hour(103), end: hour(104) }))),
        [],
      );
      const cancelled = await collect(t.client.query({ resourceId: "q-a", status: S.CANCELLED }));
      assert.equal(cancelled.length, 1);
      assert.equal(cancelled[0]?.status, S.CANCELLED);
      await rejectsWith(
        collect(t.client.query({ start: hour(5), end: hour(4) })),
        status.INVALID_ARGUMENT,
      );
      await rejectsWith(
        collect(t.client.query({ userId: "x".repeat(65) })),
        status.INVALID_ARGUMENT,
      );
    });
  });
}
