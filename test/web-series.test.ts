import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Browser, Locator, Page } from "playwright-core";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import {
  assertBrowserPrerequisites,
  launchChromium,
  openPage,
  SCREENS,
  WAIT,
} from "./helpers/browser.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { assertConsoleClean, assertPhoneLayout, barNamed, press, row } from "./helpers/web-page.js";

// Buffers drawn beside their bars, a series recognisable as one (and cancelled from one
// occurrence on, with an undo), and a week view whose bars read or stay blank, never cut to a
// few letters. On a laptop and a phone; the page runs in UTC.

const HOUR = 3_600_000;
const MIN = 60_000;
const [embedded] = backends;
assert.ok(embedded);

async function box(target: Locator) {
  await target.scrollIntoViewIfNeeded();
  const b = await target.boundingBox();
  assert.ok(b);
  return b;
}

/** How many pixels an hour takes on the timeline. */
async function hourWidth(page: Page): Promise<number> {
  const from = Number(await page.getAttribute("#timeline", "data-from"));
  const to = Number(await page.getAttribute("#timeline", "data-to"));
  const lane = await page.locator(".row .lane").first().boundingBox();
  assert.ok(lane);
  return (lane.width * HOUR) / (to - from);
}

const near = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 1.5, `${what}: ${actual} px, ${expected} expected`);

describe("web page: buffers, series and the week view", () => {
  let t: TestServer;
  let browser: Browser;

  before(async () => {
    assertBrowserPrerequisites();
    t = await startTestServer(embedded);
    browser = await launchChromium();
    await t.resources.putResource({
      resource: {
        id: "room-4",
        bufferBefore: durationFromMs(10 * MIN),
        bufferAfter: durationFromMs(15 * MIN),
      },
    });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  for (const screen of ["laptop", "phone"] as const) {
    const phone = screen === "phone";
    // A Monday, and the days after it.
    const monday = phone ? "2030-06-10" : "2030-06-03";
    const day = (n: number) =>
      new Date(Date.parse(`${monday}T00:00:00Z`) + n * 24 * HOUR).toISOString().slice(0, 10);
    const at = (n: number, hhmm: string) => ts(`${day(n)}T${hhmm}:00Z`);
    const mondayLabel = phone ? "Mon 10 Jun" : "Mon 3 Jun";
    let groupId = "";
    let page: Page;

    it(`${screen}: buffers are drawn beside the bar, described, and not a target`, async () => {
      await t.client.reserve({
        reservation: {
          resourceId: "room-4",
          userId: "alice",
          start: at(0, "10:00"),
          end: at(0, "11:00"),
          status: S.CONFIRMED,
        },
      });
      page = await openPage(browser, `http://${t.app.httpAddress}/#day/${day(0)}`, SCREENS[screen]);
      const bar = barNamed(page, "room-4, 10:00–11:00, alice, confirmed");
      await bar.waitFor(WAIT);
      const before = page.getByRole("img", {
        name: "room-4, 09:50–10:00, buffer kept free before 10:00–11:00",
      });
      const after = page.getByRole("img", {
        name: "room-4, 11:00–11:15, buffer kept free after 10:00–11:00",
      });
      await before.waitFor(WAIT);
      const hour = await hourWidth(page);
      const [b, a, r] = [await box(before), await box(after), await box(bar)];
      near(b.width, hour / 6, "10 min before");
      near(b.x + b.width, r.x, "before ends where the bar starts");
      near(a.x, r.x + r.width, "after starts where the bar ends");
      near(a.width, hour / 4, "15 min after");
      near(r.width, hour, "the bar itself: one hour");
      assert.equal(await before.evaluate((n) => n.tagName), "DIV");

      // Pressing a buffer books nothing: the bar pressed next opens alone, the Book form keeps
      // its fresh values (a slot press would fill 09:30).
      // It says what it is, on hover and when pressed.
      assert.equal(
        await before.getAttribute("title"),
        "room-4, 09:50–10:00, buffer kept free before 10:00–11:00",
      );
      await press(before, phone);
      await page
        .locator("#toast", { hasText: "room-4, 09:50–10:00, buffer kept free before 10:00–11:00" })
        .waitFor(WAIT);
      await press(bar, phone);
      await page.locator("#details h2", { hasText: "room-4 · 10:00–11:00" }).waitFor(WAIT);
      assert.equal(await page.inputValue("#reserve-form [name=from]"), "07:00");
      if (phone) await assertPhoneLayout(page);
      assertConsoleClean(page);
    });

    it(`${screen}: a series shares a marker and outline, says its size, and cancels this and following`, async () => {
      const series = await t.client.reserveSeries({
        first: {
          reservation: {
            resourceId: "room-4",
            userId: "dan",
            start: at(2, "14:00"),
            end: at(2, "15:00"),
            status: S.CONFIRMED,
          },
        },
        rrule: "FREQ=DAILY;COUNT=3",
      });
      groupId = series.reservations[0]?.groupId ?? "";
      assert.ok(groupId);
      await page.evaluate(`location.hash = "#week/${monday}"`);
      const members = page.locator(`.bar[data-group="${groupId}"]`);
      await members.nth(2).waitFor(WAIT);
      assert.equal(await members.count(), 3);
      const outlines = await members.evaluateAll((bars) =>
        bars.map((b) => b.ownerDocument.defaultView?.getComputedStyle(b).outlineColor),
      );
      assert.equal(new Set(outlines).size, 1, `one outline colour: ${outlines}`);
      const plain = barNamed(page, `room-4, ${mondayLabel} 10:00–11:00, alice, confirmed`);
      assert.notEqual(
        await plain.evaluate((b) => b.ownerDocument.defaultView?.getComputedStyle(b).outlineColor),
        outlines[0],
      );
      assert.equal(await members.first().locator(".group-mark").textContent(), "↻");

      // The second occurrence: its details say the series' size; cancel it and the next one.
      await page.evaluate(`location.hash = "#day/${day(3)}"`);
      const second = barNamed(page, "room-4, 14:00–15:00, dan, confirmed, part of a group");
      await press(second, phone);
      await page.locator("#details dd", { hasText: "Part of a series of 3" }).waitFor(WAIT);
      if (phone) await assertPhoneLayout(page);
      await press(page.locator("#details button", { hasText: "Cancel this and following" }), phone);
      await second.waitFor({ state: "detached", ...WAIT });
      /** The starts of a group's live reservations. */
      const live = async (group: string) => {
        const out: string[] = [];
        for await (const r of t.client.query({ groupId: group })) {
          out.push(new Date(Number(r.start?.seconds) * 1000).toISOString().slice(0, 16));
        }
        return out;
      };
      assert.deepEqual(await live(groupId), [`${day(2)}T14:00`]);
      await page
        .locator("#toast", { hasText: "Cancelled room-4 14:00–15:00 and 1 later." })
        .waitFor(WAIT);

      // Undo books both again, all or nothing, as a group of their own.
      await press(page.locator("#toast button", { hasText: "Undo" }), phone);
      await second.waitFor(WAIT);
      const again = await second.getAttribute("data-group");
      assert.ok(again && again !== groupId);
      assert.deepEqual(await live(again), [`${day(3)}T14:00`, `${day(4)}T14:00`]);
      assertConsoleClean(page);
    });

    it(`${screen}: in the week view a bar reads its start and user when wide enough, else nothing; details on press`, async () => {
      await t.client.reserve({
        reservation: {
          resourceId: "van-7",
          userId: "bob",
          start: at(0, "08:00"),
          end: at(3, "08:00"),
          status: S.CONFIRMED,
        },
      });
      if (phone) {
        await press(page.locator("#sheet-close"), phone);
        await page.locator("#sheet.open").waitFor({ state: "detached", ...WAIT });
      }
      await page.evaluate(`location.hash = "#week/${monday}"`);
      const long = row(page, "van-7").locator(".bar");
      await long.waitFor(WAIT);
      // 72 hours: wide enough for start and user on a phone, and for both days on a laptop.
      // The text as rendered (innerText), since the narrower bar hides parts of it with CSS.
      const rendered = (part: string) =>
        // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point
        long.locator(part).innerText();
      await long.locator(".bar-user").waitFor({ state: "visible", ...WAIT });
      assert.equal((await rendered(".bar-user")).trim(), "bob");
      assert.equal(
        await rendered(".bar-time"),
        phone ? "08:00" : `${mondayLabel} 08:00 – Thu 6 Jun 08:00`,
      );
      // An hour is a few pixels wide in a week: no cut letters, its whole name on hover, and the
      // details panel on a click. A phone's tap opens the day instead, where bars are tappable.
      // Found by its whole name on hover: bars of a row need not be in time order in the page.
      const title = `room-4, ${mondayLabel} 10:00–11:00, alice, confirmed`;
      const short = row(page, "room-4").locator(`.bar[title="${title}"]`);
      await short.waitFor(WAIT);
      assert.equal(await short.count(), 1);
      assert.equal(await short.locator("span:visible").count(), 0, "no cut letters");
      if (phone) {
        const b = await box(short);
        await page.touchscreen.tap(b.x + b.width / 2, b.y + b.height / 2);
        await page.locator("#range", { hasText: "Monday" }).waitFor(WAIT);
        await press(barNamed(page, "room-4, 10:00–11:00, alice, confirmed"), phone);
      } else await press(short, phone);
      await page.locator("#details h2", { hasText: "room-4 · 10:00–11:00" }).waitFor(WAIT);
      await page.locator("#details dd", { hasText: "alice" }).waitFor(WAIT);
      if (phone) await assertPhoneLayout(page);

      // A chosen zoom widens the week too: at 120 px an hour that hour reads "10:00 alice".
      if (phone) {
        await press(page.locator("#sheet-close"), phone);
        await page.locator("#sheet.open").waitFor({ state: "detached", ...WAIT });
      }
      if (phone) await page.evaluate(`location.hash = "#week/${monday}"`);
      await page.selectOption("#zoom", "120");
      await short.locator(".bar-user").waitFor({ state: "visible", ...WAIT });
      assert.equal(await short.locator(".bar-time").textContent(), "10:00–11:00");
      assert.equal(await short.locator(".bar-end").isVisible(), false, "the end time drops first");
      assertConsoleClean(page);
      await page.context().close();
    });
  }
});
