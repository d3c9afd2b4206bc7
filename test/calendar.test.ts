import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import type ICAL from "ical.js";
import { ReservationStatus } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { httpBase } from "./helpers/harness.js";
import { assertLineRules, eventsById, fetchCalendar } from "./helpers/ics.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const RANGE = "start=2030-01-01T00:00:00Z&end=2030-02-01T00:00:00Z";
const minutes = (m: number) => create(DurationSchema, { seconds: BigInt(m * 60) });
const utc = (t: ICAL.Time) => {
  assert.equal(t.zone?.tzid, "UTC", "times are UTC, never floating");
  return t.toJSDate().toISOString();
};

for (const backend of backends) {
  describe(`calendar feeds (${backend.name})`, () => {
    let t: TestServer;
    let base: string;
    before(async () => {
      t = await startTestServer(backend);
      base = `${httpBase(t.app)}/calendar`;
    });
    after(() => t?.close());

    it("publishes a resource's live reservations as a parseable VCALENDAR", async () => {
      const note = `Kickoff; agenda, notes \\ "quoted"\nsecond line ${"Grüße €😀 ".repeat(12)}`;
      const { reservation: confirmed } = await t.client.reserve({
        reservation: {
          userId: "alice",
          resourceId: "cal-room",
          start: ts("2030-01-02T09:00:00Z"),
          end: ts("2030-01-02T10:30:00Z"),
          note,
          status: ReservationStatus.CONFIRMED,
        },
      });
      const { reservation: held } = await t.client.reserve({
        reservation: {
          userId: "bob",
          resourceId: "cal-room",
          start: ts("2030-01-03T09:00:00Z"),
          end: ts("2030-01-03T10:00:00Z"),
        },
        holdSeconds: 3600,
      });
      const { reservation: cancelled } = await t.client.reserve({
        reservation: {
          userId: "carol",
          resourceId: "cal-room",
          start: ts("2030-01-04T09:00:00Z"),
          end: ts("2030-01-04T10:00:00Z"),
        },
      });
      await t.client.cancel({ id: cancelled?.id ?? "" });

      const got = await fetchCalendar(`${base}/resources/cal-room.ics?${RANGE}`);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get("content-type"), "text/calendar; charset=utf-8");
      assertLineRules(got.text);
      const cal = got.calendar;
      assert.ok(cal);
      assert.equal(cal.getFirstPropertyValue("version"), "2.0");
      assert.equal(cal.getFirstPropertyValue("method"), "PUBLISH");
      assert.ok(String(cal.getFirstPropertyValue("prodid")).includes("rsvp"));
      assert.equal(cal.getFirstPropertyValue("x-wr-calname"), "cal-room");
      assert.equal(cal.getFirstPropertyValue("x-published-ttl"), "PT15M");
      const refresh = cal.getFirstProperty("refresh-interval");
      assert.equal(refresh?.type, "duration");
      assert.equal(String(refresh?.getFirstValue()), "PT15M");
      assert.match(got.text, /\r\nREFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n/);

      const events = eventsById(cal);
      assert.deepEqual([...events.keys()].sort(), [confirmed?.id, held?.id].sort());
      const first = events.get(confirmed?.id ?? "");
      assert.ok(first);
      assert.equal(first.description, note, "escaping and folding round-trip exactly");
      assert.equal(first.summary, "cal-room: alice");
      assert.equal(first.location, "cal-room");
      assert.equal(utc(first.startDate), "2030-01-02T09:00:00.000Z");
      assert.equal(utc(first.endDate), "2030-01-02T10:30:00.000Z");
      assert.equal(first.component.getFirstPropertyValue("status"), "CONFIRMED");
      assert.equal(first.sequence, 0);
      assert.ok(first.component.getFirstPropertyValue("dtstamp"));
      assert.ok(first.component.getFirstPropertyValue("last-modified"));
      const hold = events.get(held?.id ?? "");
      assert.equal(hold?.component.getFirstPropertyValue("status"), "TENTATIVE");
    });

    it("raises SEQUENCE with every change, and a reschedule moves the event", async () => {
      const { reservation } = await t.client.reserve({
        reservation: {
          userId: "dave",
          resourceId: "cal-seq",
          start: ts("2030-01-05T09:00:00Z"),
          end: ts("2030-01-05T10:00:00Z"),
        },
      });
      const id = reservation?.id ?? "";
      const url = `${base}/resources/cal-seq.ics?${RANGE}`;
      const sequence = async () => eventsById((await fetchCalendar(url)).calendar).get(id);
      assert.equal((await sequence())?.sequence, 0);
      await t.client.update({
        id,
        start: ts("2030-01-06T11:00:00Z"),
        end: ts("2030-01-06T12:00:00Z"),
      });
      const moved = await sequence();
      assert.equal(moved?.sequence, 1);
      assert.equal(moved && utc(moved.startDate), "2030-01-06T11:00:00.000Z");
      await t.client.update({ id, note: "now with a note" });
      assert.equal((await sequence())?.sequence, 2);
      await t.client.confirm({ id });
      const confirmed = await sequence();
      assert.equal(confirmed?.sequence, 3);
      assert.equal(confirmed?.component.getFirstPropertyValue("status"), "CONFIRMED");
      await t.client.cancel({ id });
      assert.equal(await sequence(), undefined, "a cancelled reservation leaves the feed");
    });

    it("answers If-None-Match with 304 until the feed changes", async () => {
      await t.client.reserve({
        reservation: {
          userId: "erin",
          resourceId: "cal-etag",
          start: ts("2030-01-07T09:00:00Z"),
          end: ts("2030-01-07T10:00:00Z"),
        },
      });
      const url = `${base}/resources/cal-etag.ics?${RANGE}`;
      const first = await fetchCalendar(url);
      const etag = first.headers.get("etag");
      assert.ok(etag);
      assert.equal(
        (await fetchCalendar(url)).headers.get("etag"),
        etag,
        "the same state, the same tag",
      );
      const unchanged = await fetchCalendar(url, { "if-none-match": etag });
      assert.equal(unchanged.status, 304);
      assert.equal(unchanged.text, "");
      assert.equal((await fetchCalendar(url, { "if-none-match": `W/${etag}, "x"` })).status, 304);
      await t.client.reserve({
        reservation: {
          userId: "erin",
          resourceId: "cal-etag",
          start: ts("2030-01-08T09:00:00Z"),
          end: ts("2030-01-08T10:00:00Z"),
        },
      });
      const changed = await fetchCalendar(url, { "if-none-match": etag });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.get("etag"), etag);
      assert.equal(eventsById(changed.calendar).size, 2);
    });

    it("serves pool and user feeds, and the default window around now", async () => {
      for (const id of ["cal-spot-1", "cal-spot-2"]) {
        await t.resources.putResource({ resource: { id, pool: "cal-lot" } });
      }
      const soon = Date.now() + 86_400_000;
      const iso = (ms: number) => new Date(ms).toISOString();
      for (const [resourceId, h] of [
        ["cal-spot-1", 0],
        ["cal-spot-2", 2],
      ] as const) {
        await t.client.reserve({
          reservation: {
            userId: "frank",
            resourceId,
            start: ts(iso(soon + h * 3_600_000)),
            end: ts(iso(soon + (h + 1) * 3_600_000)),
          },
        });
      }
      // Beyond the default 366 days ahead: only an explicit window shows it.
      await t.client.reserve({
        reservation: {
          userId: "frank",
          resourceId: "cal-spot-1",
          start: ts(iso(soon + 400 * 86_400_000)),
          end: ts(iso(soon + 400 * 86_400_000 + 3_600_000)),
        },
      });
      const pool = await fetchCalendar(`${base}/pools/cal-lot.ics`);
      assert.equal(pool.status, 200);
      assert.equal(eventsById(pool.calendar).size, 2);
      const user = await fetchCalendar(`${base}/users/frank.ics`);
      assert.equal(eventsById(user.calendar).size, 2);
      const later = await fetchCalendar(
        `${base}/users/frank.ics?start=${iso(soon + 399 * 86_400_000)}&end=${iso(soon + 401 * 86_400_000)}`,
      );
      assert.equal(eventsById(later.calendar).size, 1);
      assert.equal((await fetchCalendar(`${base}/pools/no-such-pool.ics`)).status, 404);
    });

    it("refuses a bad or too wide window with 400", async () => {
      const url = `${base}/resources/cal-room.ics`;
      assert.equal((await fetchCalendar(`${url}?start=yesterday`)).status, 400);
      assert.equal(
        (await fetchCalendar(`${url}?start=2030-02-01T00:00:00Z&end=2030-01-01T00:00:00Z`)).status,
        400,
      );
      assert.equal(
        (await fetchCalendar(`${url}?start=2030-01-01T00:00:00Z&end=2031-03-01T00:00:00Z`)).status,
        400,
        "more than 400 days",
      );
      assert.equal((await fetch(url, { method: "POST" })).status, 405);
    });

    it("merges free/busy periods, buffers included, clipped to the range", async () => {
      await t.resources.putResource({
        resource: { id: "fb-room", bufferBefore: minutes(15), bufferAfter: minutes(15) },
      });
      const book = (userId: string, from: string, to: string, status?: ReservationStatus) =>
        t.client.reserve({
          reservation: {
            userId,
            resourceId: "fb-room",
            start: ts(`2030-01-10T${from}:00Z`),
            end: ts(`2030-01-10T${to}:00Z`),
            ...(status ? { status } : {}),
          },
        });
      // Two confirmed bookings whose buffers touch: one busy period 08:45-11:45.
      await book("a", "09:00", "10:00", ReservationStatus.CONFIRMED);
      await book("b", "10:30", "11:30", ReservationStatus.CONFIRMED);
      // A pending one: tentative, buffers too.
      await book("c", "13:00", "14:00");
      // Straddles the range's end: clipped.
      await book("d", "17:30", "19:00", ReservationStatus.BLOCKED);
      const got = await fetchCalendar(
        `${base}/resources/fb-room/freebusy.ics?start=2030-01-10T08:00:00Z&end=2030-01-10T18:00:00Z`,
      );
      assert.equal(got.status, 200);
      assertLineRules(got.text);
      const fb = got.calendar?.getFirstSubcomponent("vfreebusy");
      assert.ok(fb);
      assert.equal(
        utc(fb.getFirstPropertyValue("dtstart") as ICAL.Time),
        "2030-01-10T08:00:00.000Z",
      );
      const periods = fb.getAllProperties("freebusy").map((p) => {
        const value = p.getFirstValue() as ICAL.Period;
        return `${p.getParameter("fbtype")} ${utc(value.start)} ${utc(value.getEnd())}`;
      });
      assert.deepEqual(periods.sort(), [
        "BUSY 2030-01-10T08:45:00.000Z 2030-01-10T11:45:00.000Z",
        "BUSY 2030-01-10T17:15:00.000Z 2030-01-10T18:00:00.000Z",
        "BUSY-TENTATIVE 2030-01-10T12:45:00.000Z 2030-01-10T14:15:00.000Z",
      ]);
      assert.equal(
        (
          await fetchCalendar(
            `${base}/resources/fb-room/freebusy.ics?start=2030-01-01T00:00:00Z&end=2031-01-03T00:00:00Z`,
          )
        ).status,
        400,
        "at most 366 days",
      );
    });

    it("makes a pool busy only where every member is", async () => {
      for (const id of ["fb-spot-1", "fb-spot-2"]) {
        await t.resources.putResource({ resource: { id, pool: "fb-lot" } });
      }
      const book = (resourceId: string, from: number, to: number, status?: ReservationStatus) =>
        t.client.reserve({
          reservation: {
            userId: "p",
            resourceId,
            start: ts(`2030-01-11T${String(from).padStart(2, "0")}:00:00Z`),
            end: ts(`2030-01-11T${String(to).padStart(2, "0")}:00:00Z`),
            ...(status ? { status } : {}),
          },
        });
      await book("fb-spot-1", 9, 12, ReservationStatus.CONFIRMED);
      await book("fb-spot-2", 10, 11, ReservationStatus.CONFIRMED);
      await book("fb-spot-2", 11, 13); // pending
      const got = await fetchCalendar(
        `${base}/pools/fb-lot/freebusy.ics?start=2030-01-11T00:00:00Z&end=2030-01-12T00:00:00Z`,
      );
      const fb = got.calendar?.getFirstSubcomponent("vfreebusy");
      const periods = (fb?.getAllProperties("freebusy") ?? []).map((p) => {
        const value = p.getFirstValue() as ICAL.Period;
        return `${p.getParameter("fbtype")} ${utc(value.start)} ${utc(value.getEnd())}`;
      });
      assert.deepEqual(periods.sort(), [
        "BUSY 2030-01-11T10:00:00.000Z 2030-01-11T11:00:00.000Z",
        "BUSY-TENTATIVE 2030-01-11T11:00:00.000Z 2030-01-11T12:00:00.000Z",
      ]);
    });
  });
}
