import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type ICAL from "ical.js";
import { ReservationStatus } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { httpBase } from "./helpers/harness.js";
import { assertLineRules, fetchCalendar } from "./helpers/ics.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const DAY = "2030-03-04";
const at = (hour: number) => `${DAY}T${String(hour).padStart(2, "0")}:00:00.000Z`;

/** The FREEBUSY periods of a free/busy answer, as "FBTYPE start end", sorted. */
function periodsOf(calendar: ICAL.Component | undefined): string[] {
  const fb = calendar?.getFirstSubcomponent("vfreebusy");
  assert.ok(fb, "a VFREEBUSY");
  return fb
    .getAllProperties("freebusy")
    .map((p) => {
      const value = p.getFirstValue() as ICAL.Period;
      const iso = (t: ICAL.Time) => t.toJSDate().toISOString();
      return `${p.getParameter("fbtype")} ${iso(value.start)} ${iso(value.getEnd())}`;
    })
    .sort();
}

for (const backend of backends) {
  describe(`free/busy of counted resources (${backend.name})`, () => {
    let t: TestServer;
    let base: string;
    before(async () => {
      t = await startTestServer(backend);
      base = `${httpBase(t.app)}/calendar`;
    });
    after(() => t?.close());

    const book = (
      resourceId: string,
      from: number,
      to: number,
      quantity: number,
      status: ReservationStatus = ReservationStatus.PENDING,
      holdSeconds = 0,
    ) =>
      t.client.reserve({
        reservation: {
          userId: "u",
          resourceId,
          start: ts(at(from)),
          end: ts(at(to)),
          quantity,
          status,
        },
        holdSeconds,
      });
    const freeBusy = async (path: string) => {
      const got = await fetchCalendar(
        `${base}/${path}/freebusy.ics?start=${DAY}T00:00:00Z&end=${DAY}T23:00:00Z`,
      );
      assert.equal(got.status, 200, got.text);
      assertLineRules(got.text);
      return periodsOf(got.calendar);
    };

    it("is busy only where a counted resource is full, tentative where full counting pending", async () => {
      await t.resources.putResource({ resource: { id: "fbc-desks", capacity: 3 } });
      const C = ReservationStatus.CONFIRMED;
      await book("fbc-desks", 9, 12, 2, C); // 2 of 3 alone: free
      await book("fbc-desks", 10, 11, 1, C); // 3 of 3 confirmed: busy
      await book("fbc-desks", 11, 13, 1); // 3 of 3 with a pending one: tentative, then 1 of 3
      await book("fbc-desks", 14, 16, 1, ReservationStatus.BLOCKED); // takes all 3: busy
      await book("fbc-desks", 16, 17, 3, ReservationStatus.PENDING, 86_400); // a hold of all 3
      await book("fbc-desks", 18, 20, 2, C);
      await book("fbc-desks", 19, 21, 1); // 3 of 3 at 19-20, one of them pending
      assert.deepEqual(await freeBusy("resources/fbc-desks"), [
        `BUSY ${at(10)} ${at(11)}`,
        `BUSY ${at(14)} ${at(16)}`,
        `BUSY-TENTATIVE ${at(11)} ${at(12)}`,
        `BUSY-TENTATIVE ${at(16)} ${at(17)}`,
        `BUSY-TENTATIVE ${at(19)} ${at(20)}`,
      ]);
    });

    it("leaves a counted resource free where a cancelled reservation left room", async () => {
      await t.resources.putResource({ resource: { id: "fbc-lab", capacity: 2 } });
      await book("fbc-lab", 9, 11, 1, ReservationStatus.CONFIRMED);
      const { reservation } = await book("fbc-lab", 10, 12, 1, ReservationStatus.CONFIRMED);
      assert.deepEqual(await freeBusy("resources/fbc-lab"), [`BUSY ${at(10)} ${at(11)}`]);
      await t.client.cancel({ id: reservation?.id ?? "" });
      assert.deepEqual(await freeBusy("resources/fbc-lab"), []);
    });

    it("makes a pool of counted and exclusive members busy only where no member has a unit free", async () => {
      await t.resources.putResource({
        resource: { id: "fbc-park-a", pool: "fbc-park", capacity: 2 },
      });
      await t.resources.putResource({ resource: { id: "fbc-park-b", pool: "fbc-park" } });
      const C = ReservationStatus.CONFIRMED;
      await book("fbc-park-a", 9, 12, 2, C); // a full 9-12
      await book("fbc-park-b", 10, 11, 1, C); // b busy 10-11
      await book("fbc-park-b", 11, 13, 1); // b tentative 11-13
      await book("fbc-park-a", 12, 13, 1, C); // a has a unit free 12-13
      await book("fbc-park-a", 13, 14, 1, C);
      await book("fbc-park-a", 13, 14, 1); // a full 13-14, one of them pending
      await book("fbc-park-b", 13, 15, 1, C); // b busy 13-15
      assert.deepEqual(await freeBusy("pools/fbc-park"), [
        `BUSY ${at(10)} ${at(11)}`,
        `BUSY-TENTATIVE ${at(11)} ${at(12)}`,
        `BUSY-TENTATIVE ${at(13)} ${at(14)}`,
      ]);
    });
  });
}
