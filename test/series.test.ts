import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { collect, ts } from "./helpers/fixtures.js";
import { failureOf } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const iso = (t: { seconds: bigint } | undefined) =>
  t ? new Date(Number(t.seconds) * 1000).toISOString().replace(".000", "") : "";

/** A series' first occurrence on `resourceId`, from `start` to `end` (ISO, UTC). */
const first = (resourceId: string, start: string, end: string) => ({
  reservation: { userId: "u", resourceId, start: ts(start), end: ts(end) },
});

for (const backend of backends) {
  describe(`recurring series (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    it("keeps the local wall-clock time across a daylight-saving change (Europe/Berlin)", async () => {
      const { reservations, skipped } = await t.client.reserveSeries({
        first: first("berlin-room", "2031-03-17T08:00:00Z", "2031-03-17T09:00:00Z"),
        rrule: "FREQ=WEEKLY;COUNT=3",
        timeZone: "Europe/Berlin",
      });
      assert.deepEqual(
        reservations.map((r) => [iso(r.start), iso(r.end)]),
        [
          ["2031-03-17T08:00:00Z", "2031-03-17T09:00:00Z"],
          ["2031-03-24T08:00:00Z", "2031-03-24T09:00:00Z"],
          ["2031-03-31T07:00:00Z", "2031-03-31T08:00:00Z"],
        ],
      );
      assert.deepEqual(skipped, []);
      const groupId = reservations[0]?.groupId ?? "";
      assert.notEqual(groupId, "");
      assert.ok(reservations.every((r) => r.groupId === groupId));
    });

    it("takes the resource's time zone when the request names none; UTC for an unregistered one", async () => {
      await t.resources.putResource({ resource: { id: "berlin-desk", timeZone: "Europe/Berlin" } });
      const zoned = await t.client.reserveSeries({
        first: first("berlin-desk", "2031-03-24T08:00:00Z", "2031-03-24T08:30:00Z"),
        rrule: "RRULE:FREQ=WEEKLY;UNTIL=20310401T000000Z",
      });
      assert.deepEqual(
        zoned.reservations.map((r) => iso(r.start)),
        ["2031-03-24T08:00:00Z", "2031-03-31T07:00:00Z"],
      );
      const utc = await t.client.reserveSeries({
        first: first("utc-desk", "2031-03-24T08:00:00Z", "2031-03-24T08:30:00Z"),
        rrule: "FREQ=WEEKLY;COUNT=2",
      });
      assert.deepEqual(
        utc.reservations.map((r) => iso(r.start)),
        ["2031-03-24T08:00:00Z", "2031-03-31T08:00:00Z"],
      );
    });

    it("refuses what it cannot promise: INVALID_ARGUMENT", async () => {
      const base = first("bad", "2031-01-06T09:00:00Z", "2031-01-06T10:00:00Z");
      const cases: Array<[string, Record<string, unknown>]> = [
        ["no COUNT or UNTIL", { first: base, rrule: "FREQ=WEEKLY" }],
        ["more than 1000", { first: base, rrule: "FREQ=DAILY;COUNT=1001" }],
        ["hourly", { first: base, rrule: "FREQ=HOURLY;COUNT=3" }],
        ["unsupported part", { first: base, rrule: "FREQ=DAILY;COUNT=3;BYHOUR=9" }],
        ["bad zone", { first: base, rrule: "FREQ=DAILY;COUNT=3", timeZone: "Nowhere/Land" }],
        [
          "a pool",
          {
            first: { ...base, reservation: { ...base.reservation, resourceId: "" }, pool: "p" },
            rrule: "FREQ=DAILY;COUNT=2",
          },
        ],
      ];
      for (const [what, req] of cases) {
        const f = await failureOf(t.client.reserveSeries(req));
        assert.equal(f?.code, status.INVALID_ARGUMENT, what);
      }
      assert.deepEqual(await collect(t.client.query({ resourceId: "bad" })), []);
      // Exactly 1000 is fine.
      const { reservations } = await t.client.reserveSeries({
        first: first("thousand", "2031-01-06T09:00:00Z", "2031-01-06T10:00:00Z"),
        rrule: "FREQ=DAILY;COUNT=1000",
      });
      assert.equal(reservations.length, 1000);
    });

    it("all or nothing by default; skip_conflicts reserves the free occurrences and reports the rest", async () => {
      // Monday 2031-01-13, the second of three Mondays, is taken.
      await t.client.reserve({
        reservation: {
          userId: "other",
          resourceId: "weekly",
          start: ts("2031-01-13T09:30:00Z"),
          end: ts("2031-01-13T10:30:00Z"),
        },
      });
      const req = {
        first: first("weekly", "2031-01-06T09:00:00Z", "2031-01-06T10:00:00Z"),
        rrule: "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
      };
      const f = await failureOf(t.client.reserveSeries(req));
      assert.equal(f?.code, status.ALREADY_EXISTS);
      assert.equal(f?.conflict?.item, 1);
      assert.equal(iso(f?.conflict?.existingStart), "2031-01-13T09:30:00Z");
      assert.equal((await collect(t.client.query({ resourceId: "weekly" }))).length, 1);

      const { reservations, skipped } = await t.client.reserveSeries({
        ...req,
        skipConflicts: true,
      });
      assert.deepEqual(
        reservations.map((r) => iso(r.start)),
        ["2031-01-06T09:00:00Z", "2031-01-20T09:00:00Z"],
      );
      assert.equal(skipped.length, 1);
      assert.equal(skipped[0]?.item, 1);
      assert.equal(iso(skipped[0]?.requestedStart), "2031-01-13T09:00:00Z");
    });

    it("a rule broken by any occurrence fails the series, even when skipping conflicts", async () => {
      await t.resources.putResource({
        resource: { id: "near-only", rules: { maxAdvance: { seconds: BigInt(20 * 86400) } } },
      });
      const start = new Date(Date.now() + 86400_000);
      start.setUTCHours(9, 0, 0, 0);
      const end = new Date(start.getTime() + 3600_000);
      const f = await failureOf(
        t.client.reserveSeries({
          first: first("near-only", start.toISOString(), end.toISOString()),
          rrule: "FREQ=WEEKLY;COUNT=4",
          skipConflicts: true,
        }),
      );
      assert.equal(f?.code, status.FAILED_PRECONDITION);
      assert.match(f?.message ?? "", /item 3: near-only cannot be booked more than 20d ahead/);
      assert.deepEqual(await collect(t.client.query({ resourceId: "near-only" })), []);
    });

    it("cancel with following: this one and every later live one of the series, in one go", async () => {
      const { reservations } = await t.client.reserveSeries({
        first: first("standup", "2031-02-03T09:00:00Z", "2031-02-03T09:15:00Z"),
        rrule: "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=5",
      });
      assert.equal(reservations.length, 5);
      const third = reservations[2];
      assert.ok(third);
      const { reservation } = await t.client.cancel({ id: third.id, following: true });
      assert.equal(reservation?.id, third.id);
      assert.equal(reservation?.status, S.CANCELLED);
      const after = await Promise.all(reservations.map((r) => t.client.get({ id: r.id })));
      assert.deepEqual(
        after.map((g) => g.reservation?.status),
        [S.PENDING, S.PENDING, S.CANCELLED, S.CANCELLED, S.CANCELLED],
      );
      // A reservation outside any group: following cancels just it.
      const single = await t.client.reserve({
        reservation: {
          userId: "u",
          resourceId: "standup",
          start: ts("2031-02-10T09:00:00Z"),
          end: ts("2031-02-10T09:15:00Z"),
        },
      });
      const c = await t.client.cancel({ id: single.reservation?.id ?? "", following: true });
      assert.equal(c.reservation?.status, S.CANCELLED);
      assert.equal(
        (await t.client.get({ id: reservations[1]?.id ?? "" })).reservation?.status,
        S.PENDING,
      );
    });

    it("a series is idempotent by request_id", async () => {
      const req = {
        first: first("idem-series", "2031-02-03T09:00:00Z", "2031-02-03T10:00:00Z"),
        rrule: "FREQ=DAILY;COUNT=3",
        requestId: "series-1",
      };
      const a = await t.client.reserveSeries(req);
      const b = await t.client.reserveSeries(req);
      assert.deepEqual(
        b.reservations.map((r) => r.id),
        a.reservations.map((r) => r.id),
      );
      const other = await failureOf(
        t.client.reserveSeries({ ...req, rrule: "FREQ=DAILY;COUNT=4" }),
      );
      assert.equal(other?.code, status.INVALID_ARGUMENT);
    });
  });
}
