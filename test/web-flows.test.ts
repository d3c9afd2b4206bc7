import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import {
  assertBrowserPrerequisites,
  consoleErrors,
  launchChromium,
  openPage,
  SCREENS,
  WAIT,
} from "./helpers/browser.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { assertPhoneLayout } from "./helpers/web-page.js";

// Each booking flow of the page, on a laptop and a phone screen, driven by the pointer (mouse,
// or touch on the phone) and by the keyboard alone. The page runs in UTC (see openPage).

const HOUR = 3_600_000;
/** The first of the default working hours the day view shows. */
const FIRST_HOUR = 7;

const row = (page: Page, resource: string) => page.locator(`.row[data-resource="${resource}"]`);
const barNamed = (page: Page, name: string) => page.locator(`.bar[aria-label="${name}"]`);

/** The name of the focused element, or its tag when it has none. */
const focused = (page: Page): Promise<string> =>
  page.evaluate(`(() => {
    const a = document.activeElement;
    return a?.getAttribute("aria-label") ?? a?.textContent?.trim() ?? a?.tagName ?? "";
  })()`);

/** Presses Tab (or Shift+Tab) until the focused element matches `selector`; fails after 60. */
async function tabTo(page: Page, selector: string, back = false): Promise<number> {
  for (let n = 1; n <= 60; n++) {
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)})`))
      return n;
  }
  throw new Error(`Tab never reached ${selector}; focus is on ${await focused(page)}`);
}

/** Replaces the focused field's text by typing, as a keyboard user does. */
async function typeOver(page: Page, text: string) {
  await page.keyboard.press("Control+A");
  await page.keyboard.type(text);
}

/** The screen point at `hour` of the day in a resource's row, scrolled into view first. */
async function pointAt(page: Page, resource: string, hour: number) {
  const lane = row(page, resource).locator(".lane");
  const from = Number(await page.getAttribute("#timeline", "data-from"));
  const to = Number(await page.getAttribute("#timeline", "data-to"));
  const day = from - FIRST_HOUR * HOUR;
  const frac = (day + hour * HOUR - from) / (to - from);
  await page.locator("#timeline").evaluate((el, f) => {
    const laneWidth = el.scrollWidth - (el.querySelector(".row .label")?.clientWidth ?? 0);
    el.scrollLeft = Math.max(0, f * laneWidth - el.clientWidth / 2);
  }, frac);
  const box = await lane.boundingBox();
  assert.ok(box, `the ${resource} row is on screen`);
  return { x: box.x + frac * box.width, y: box.y + box.height / 2 };
}

/** Drags with the mouse from one point to another in small steps. */
async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
}

/** How many pixels an hour takes on the timeline. */
async function hourWidth(page: Page): Promise<number> {
  const from = Number(await page.getAttribute("#timeline", "data-from"));
  const to = Number(await page.getAttribute("#timeline", "data-to"));
  const box = await page.locator(".row .lane").first().boundingBox();
  assert.ok(box);
  return (box.width * HOUR) / (to - from);
}

/**
 * The left edge, middle or right edge of a bar, scrolled into view. The page redraws a bar
 * when the change feed reports it (after a move, say), so the element found may be replaced
 * while it is scrolled to: then the locator is resolved again, a few times at most.
 */
async function barPoint(bar: Locator, where: "start" | "middle" | "end") {
  for (let attempt = 1; ; attempt++) {
    try {
      await bar.scrollIntoViewIfNeeded();
      const box = await bar.boundingBox();
      assert.ok(box);
      const x =
        where === "start"
          ? box.x + 3
          : where === "end"
            ? box.x + box.width - 3
            : box.x + box.width / 2;
      return { x, y: box.y + box.height / 2 };
    } catch (err) {
      if (attempt === 5 || !/not attached/.test(String(err))) throw err;
    }
  }
}

/** Taps (phone) or clicks (laptop) a locator. */
async function press(target: Locator, phone: boolean) {
  if (phone) await target.tap();
  else await target.click();
}

describe("booking flows in Chromium, on a laptop and a phone, by pointer and by keyboard", () => {
  let t: TestServer;
  let browser: Browser;
  const [embedded] = backends;
  assert.ok(embedded);

  before(async () => {
    assertBrowserPrerequisites();
    t = await startTestServer(embedded);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Reservations of a resource on the server, as `HH:MM–HH:MM user status` lines. */
  async function stored(resource: string, day: string): Promise<string[]> {
    const out: string[] = [];
    const hhmm = (ms: bigint) => new Date(Number(ms) * 1000).toISOString().slice(11, 16);
    for await (const r of t.client.query({
      resourceId: resource,
      start: ts(`${day}T00:00:00Z`),
      end: ts(`${day}T23:59:59Z`),
    })) {
      out.push(
        `${hhmm(r.start?.seconds ?? 0n)}–${hhmm(r.end?.seconds ?? 0n)} ${r.userId} ${S[r.status]}`,
      );
    }
    return out;
  }

  async function seed(day: string, resource: string, user: string, from: string, to: string) {
    await t.client.reserve({
      reservation: {
        resourceId: resource,
        userId: user,
        start: ts(`${day}T${from}:00Z`),
        end: ts(`${day}T${to}:00Z`),
        status: S.CONFIRMED,
      },
    });
  }

  /** The page on `day`, with zoe's room-1 10:00–11:00 and yan's room-2 14:00–15:00 booked. */
  async function open(day: string, screen: keyof typeof SCREENS): Promise<Page> {
    await seed(day, "room-1", "zoe", "10:00", "11:00");
    const page = await openPage(
      browser,
      `http://${t.app.httpAddress}/#day/${day}`,
      SCREENS[screen],
    );
    await settled(page);
    return page;
  }

  /**
   * Waits until the page has loaded the day and scrolled sideways to its first booking: the
   * page scrolls in the animation frame after the bookings are drawn, so a point measured
   * before that frame would be somewhere else by the time the pointer gets there.
   */
  async function settled(page: Page): Promise<void> {
    await barNamed(page, "room-1, 10:00–11:00, zoe, confirmed").waitFor(WAIT);
    await page.evaluate("new Promise((done) => requestAnimationFrame(done))");
  }

  for (const screen of ["laptop", "phone"] as const) {
    const phone = screen === "phone";
    const day = phone ? "2030-02-06" : "2030-02-04";
    const nextDay = phone ? "2030-02-07" : "2030-02-05";

    it(`${screen}, by ${phone ? "touch" : "mouse"}: add a room, book, move, resize, clash, find a free hour, cancel and undo`, async () => {
      const page = await open(day, screen);
      if (phone) await assertPhoneLayout(page);

      // An empty room gets a row through Resources, and keeps it after a reload.
      await press(page.locator("[data-panel=resources]"), phone);
      await page.fill("#resources-form [name=resource]", "room-2");
      await press(page.locator("#resources-form button[type=submit]"), phone);
      await row(page, "room-2").waitFor(WAIT);
      await page.reload();
      await settled(page);
      await row(page, "room-2").waitFor(WAIT);
      assert.equal(await row(page, "room-2").locator(".bar").count(), 0);

      // Book the empty room: drag 09:00–10:30 on a laptop, tap 09:10 (an hour from 09:00) on a phone.
      if (phone) {
        const p = await pointAt(page, "room-2", 9 + 10 / 60);
        await page.touchscreen.tap(p.x, p.y);
      } else {
        await drag(page, await pointAt(page, "room-2", 9), await pointAt(page, "room-2", 10.5));
      }
      const form = page.locator("#reserve-form");
      await form.waitFor(WAIT);
      assert.equal(await form.locator("[name=resource]").inputValue(), "room-2");
      assert.equal(await form.locator("[name=day]").inputValue(), day);
      assert.equal(await form.locator("[name=from]").inputValue(), "09:00");
      assert.equal(await form.locator("[name=to]").inputValue(), phone ? "10:00" : "10:30");
      assert.equal(await form.locator("[name=note]").inputValue(), "");
      await form.locator("[name=user]").fill("mia");
      await press(form.locator("button[type=submit]"), phone);
      const booked = phone ? "09:00–10:00" : "09:00–10:30";
      await barNamed(page, `room-2, ${booked}, mia, pending`).waitFor(WAIT);
      assert.deepEqual(await stored("room-2", day), [`${booked} mia PENDING`]);
      if (phone) {
        await press(page.locator("#sheet-close"), phone);
        await page.locator("#sheet.open").waitFor({ state: "detached", ...WAIT });
      }

      // Move it two hours later, then make it end at 13:00: dragging the bar and its edge on a
      // laptop; on a phone, through the fields of its details sheet.
      let mia = barNamed(page, `room-2, ${booked}, mia, pending`);
      if (phone) {
        await press(mia, phone);
        await page.locator("#sheet.open #details").waitFor(WAIT);
        await assertPhoneLayout(page);
        await page.fill("#details [name=from]", "11:00");
        await page.fill("#details [name=to]", "13:00");
        await press(page.locator("#details button[type=submit]"), phone);
      } else {
        const hour = await hourWidth(page);
        const middle = await barPoint(mia, "middle");
        await drag(page, middle, { x: middle.x + 2 * hour, y: middle.y });
        mia = barNamed(page, "room-2, 11:00–12:30, mia, pending");
        await mia.waitFor(WAIT);
        const edge = await barPoint(mia, "end");
        await drag(page, edge, { x: edge.x + hour / 2, y: edge.y });
      }
      mia = barNamed(page, "room-2, 11:00–13:00, mia, pending");
      await mia.waitFor(WAIT);
      assert.deepEqual(await stored("room-2", day), ["11:00–13:00 mia PENDING"]);

      // Onto yan's 14:00–15:00: refused in place, the bar stays, and the next free window is offered.
      await seed(day, "room-2", "yan", "14:00", "15:00");
      await barNamed(page, "room-2, 14:00–15:00, yan, confirmed").waitFor(WAIT);
      let offer: Locator;
      if (phone) {
        await page.fill("#details [name=from]", "13:30");
        await page.fill("#details [name=to]", "15:30");
        await press(page.locator("#details button[type=submit]"), phone);
        await page
          .locator("#details [role=alert]", { hasText: "room-2 is already booked 14:00–15:00" })
          .waitFor(WAIT);
        offer = page.locator("#details [role=alert] button");
      } else {
        const middle = await barPoint(mia, "middle");
        await drag(page, middle, { x: middle.x + 2.5 * (await hourWidth(page)), y: middle.y });
        await page
          .locator(".clash", { hasText: "room-2 is already booked 14:00–15:00" })
          .waitFor(WAIT);
        offer = page.locator(".clash button", { hasText: "Move to" });
      }
      await mia.waitFor(WAIT); // snapped back
      assert.equal(await offer.textContent(), "Move to 15:00–17:00");
      await press(offer, phone);
      await barNamed(page, "room-2, 15:00–17:00, mia, pending").waitFor(WAIT);
      assert.deepEqual(await stored("room-2", day), [
        "14:00–15:00 yan CONFIRMED",
        "15:00–17:00 mia PENDING",
      ]);

      // Find a free hour on room-1 the next day, and book the first one offered.
      await seed(nextDay, "room-1", "zoe", "07:00", "09:00");
      await press(page.locator("[data-panel=find]"), phone);
      await page.fill("#find-form [name=resource]", "room-1");
      await page.fill("#find-form [name=day]", nextDay);
      await press(page.locator("#find-form button[type=submit]"), phone);
      const first = page.locator("#find-results button").first();
      await first.waitFor(WAIT);
      assert.equal(await first.textContent(), "room-1 · 09:00–10:00");
      await press(first, phone);
      assert.equal(await form.locator("[name=day]").inputValue(), nextDay);
      await form.locator("[name=user]").fill("mia");
      await press(form.locator("button[type=submit]"), phone);
      await barNamed(page, "room-1, 09:00–10:00, mia, pending").waitFor(WAIT);
      assert.deepEqual(await stored("room-1", nextDay), [
        "07:00–09:00 zoe CONFIRMED",
        "09:00–10:00 mia PENDING",
      ]);

      // Cancel it, and undo.
      if (phone) await press(page.locator("#sheet-close"), phone);
      await press(barNamed(page, "room-1, 09:00–10:00, mia, pending"), phone);
      await press(page.locator("#details button", { hasText: "Cancel reservation" }), phone);
      await barNamed(page, "room-1, 09:00–10:00, mia, pending").waitFor({
        state: "detached",
        ...WAIT,
      });
      assert.deepEqual(await stored("room-1", nextDay), ["07:00–09:00 zoe CONFIRMED"]);
      await press(page.locator("#toast button", { hasText: "Undo" }), phone);
      await barNamed(page, "room-1, 09:00–10:00, mia, pending").waitFor(WAIT);
      assert.deepEqual(await stored("room-1", nextDay), [
        "07:00–09:00 zoe CONFIRMED",
        "09:00–10:00 mia PENDING",
      ]);

      // Not even for the refused clash: gRPC-Web answers it HTTP 200, so no failed load is logged.
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });

    it(`${screen}, by keyboard only: one Tab stop, arrows, book, move, clash, cancel and undo, find a free hour`, async () => {
      const kday = phone ? "2030-03-06" : "2030-03-04";
      await seed(kday, "room-2", "lee", "14:00", "15:00");
      await seed(kday, "room-3", "yan", "12:00", "13:00");
      const page = await open(kday, screen);
      await barNamed(page, "room-3, 12:00–13:00, yan, confirmed").waitFor(WAIT);
      const inTimeline = async () =>
        Boolean(await page.evaluate(`document.activeElement?.closest("#timeline") !== null`));

      // Tab reaches the timeline once, on a bar, and the next Tab leaves it.
      await tabTo(page, "#timeline .bar");
      assert.equal(await focused(page), "room-1, 10:00–11:00, zoe, confirmed");
      await page.keyboard.press("Tab");
      assert.equal(await inTimeline(), false, "the next Tab leaves the timeline");
      assert.equal(await focused(page), "Book");

      // Arrows: down a row to the nearest bar in time, along a row, back up.
      await page.keyboard.press("Shift+Tab");
      assert.equal(await focused(page), "room-1, 10:00–11:00, zoe, confirmed");
      await page.keyboard.press("ArrowDown");
      assert.equal(await focused(page), "room-2, 14:00–15:00, lee, confirmed");
      await page.keyboard.press("ArrowDown");
      assert.equal(await focused(page), "room-3, 12:00–13:00, yan, confirmed");
      await page.keyboard.press("ArrowUp");
      await page.keyboard.press("ArrowUp");
      assert.equal(await focused(page), "room-1, 10:00–11:00, zoe, confirmed");

      // Book room-2 09:00–10:00 from the Book tool.
      await tabTo(page, "[data-panel=book]");
      await page.keyboard.press("Enter");
      assert.equal(await page.evaluate(`document.activeElement?.name`), "resource");
      await typeOver(page, "room-2");
      await tabTo(page, "#reserve-form [name=from]");
      await typeOver(page, "09:00");
      await page.keyboard.press("Tab");
      await typeOver(page, "10:00");
      await page.keyboard.press("Tab");
      await typeOver(page, "kim");
      await page.keyboard.press("Enter");
      const kim = "room-2, 09:00–10:00, kim, pending";
      await barNamed(page, kim).waitFor(WAIT);
      assert.deepEqual(await stored("room-2", kday), [
        "09:00–10:00 kim PENDING",
        "14:00–15:00 lee CONFIRMED",
      ]);

      // Esc gives focus back to the Book tool; the timeline's Tab stop is now the new booking.
      await page.keyboard.press("Escape");
      assert.equal(await focused(page), "Book");
      await page.keyboard.press("Shift+Tab");
      assert.equal(await focused(page), kim);
      await page.keyboard.press("ArrowRight");
      assert.equal(await focused(page), "room-2, 14:00–15:00, lee, confirmed");
      await page.keyboard.press("ArrowLeft");
      assert.equal(await focused(page), kim);

      // Enter opens it; move it to 11:00–12:00 through its fields; focus stays in the panel.
      await page.keyboard.press("Enter");
      await page.locator("#details h2", { hasText: "room-2 · 09:00–10:00" }).waitFor(WAIT);
      assert.ok(
        await page.evaluate(`document.getElementById("details").contains(document.activeElement)`),
      );
      await tabTo(page, "#details [name=from]");
      await typeOver(page, "11:00");
      await page.keyboard.press("Tab");
      await typeOver(page, "12:00");
      await page.keyboard.press("Enter");
      await barNamed(page, "room-2, 11:00–12:00, kim, pending").waitFor(WAIT);
      assert.ok(
        await page.evaluate(`document.getElementById("details").contains(document.activeElement)`),
        "focus kept",
      );

      // Esc: back on the (redrawn) bar.
      await page.keyboard.press("Escape");
      assert.equal(await focused(page), "room-2, 11:00–12:00, kim, pending");

      // A clash with lee's hour, and the offered window taken by keyboard.
      await page.keyboard.press("Enter");
      await tabTo(page, "#details [name=from]");
      await typeOver(page, "13:30");
      await page.keyboard.press("Tab");
      await typeOver(page, "15:30");
      await page.keyboard.press("Enter");
      await page
        .locator("#details [role=alert]", { hasText: "room-2 is already booked 14:00–15:00" })
        .waitFor(WAIT);
      await tabTo(page, "#details [data-key=offer]");
      assert.equal(await focused(page), "Move to 15:00–17:00");
      await page.keyboard.press("Enter");
      await barNamed(page, "room-2, 15:00–17:00, kim, pending").waitFor(WAIT);
      assert.deepEqual(await stored("room-2", kday), [
        "14:00–15:00 lee CONFIRMED",
        "15:00–17:00 kim PENDING",
      ]);

      // Cancel; Undo takes focus, and undoing puts focus on the booking again.
      await tabTo(page, '#details [data-key="Cancel reservation"]');
      await page.keyboard.press("Enter");
      await barNamed(page, "room-2, 15:00–17:00, kim, pending").waitFor({
        state: "detached",
        ...WAIT,
      });
      assert.equal(await focused(page), "Undo");
      await page.keyboard.press("Enter");
      await barNamed(page, "room-2, 15:00–17:00, kim, pending").waitFor(WAIT);
      assert.equal(await focused(page), "room-2, 15:00–17:00, kim, pending");
      assert.deepEqual(await stored("room-2", kday), [
        "14:00–15:00 lee CONFIRMED",
        "15:00–17:00 kim PENDING",
      ]);

      // Find a free hour on room-1 that day, and book the first one.
      await tabTo(page, "[data-panel=find]");
      await page.keyboard.press("Enter");
      await typeOver(page, "room-1");
      await page.keyboard.press("Enter");
      await page.locator("#find-results button").first().waitFor(WAIT);
      await tabTo(page, "#find-results button");
      assert.equal(await focused(page), "room-1 · 07:00–08:00");
      await page.keyboard.press("Enter");
      // The window and note start afresh; who is booking is remembered from the last booking.
      assert.equal(await page.evaluate(`document.activeElement?.name`), "note");
      assert.equal(await page.inputValue("#reserve-form [name=user]"), "kim");
      assert.equal(await page.inputValue("#reserve-form [name=from]"), "07:00");
      await page.keyboard.press("Enter");
      await barNamed(page, "room-1, 07:00–08:00, kim, pending").waitFor(WAIT);
      if (phone) await assertPhoneLayout(page);

      // Not even for the refused clash: gRPC-Web answers it HTTP 200, so no failed load is logged.
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });
  }
});
