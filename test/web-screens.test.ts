import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
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
import { startTcpProxy } from "./helpers/tcp-proxy.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { assertPhoneLayout, barNamed, press, row } from "./helpers/web-page.js";

// What a new user sees on each screen: every booking of the day in view and counted, a week
// whose headings and bars read, no cut names, distinct colours, messages that cover nothing,
// a header that stays put and a catalog that is live. The page runs in UTC (see openPage).

const HOUR = 3_600_000;
const [embedded] = backends;
assert.ok(embedded);

type Box = { x: number; y: number; width: number; height: number };
const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * Every visible control's name and box, but those inside `except`: the part of it that shows,
 * clipped by any scrolling ancestor (a sheet scrolled down hides its top).
 */
function controls(page: Page, except: string): Promise<Array<{ name: string; box: Box }>> {
  return page.evaluate(`[...document.querySelectorAll("button, input, select, .bar")]
    .filter((e) => e.checkVisibility() && !e.closest(${JSON.stringify(except)}))
    .filter((e) => getComputedStyle(e).pointerEvents !== "none")
    .map((e) => {
      let { left, top, right, bottom } = e.getBoundingClientRect();
      for (let a = e.parentElement; a; a = a.parentElement) {
        if (getComputedStyle(a).overflow === "visible") continue;
        const c = a.getBoundingClientRect();
        left = Math.max(left, c.left);
        top = Math.max(top, c.top);
        right = Math.min(right, c.right);
        bottom = Math.min(bottom, c.bottom);
      }
      const name = e.getAttribute("aria-label") ?? e.name ?? e.textContent.trim();
      return { name, box: { x: left, y: top, width: right - left, height: bottom - top } };
    })
    .filter((c) => c.box.width > 0 && c.box.height > 0)`);
}

/** Fails when the box of `message` covers any control outside it. */
async function assertCoversNothing(page: Page, message: string) {
  const own = await page.locator(message).boundingBox();
  assert.ok(own, `${message} is shown`);
  const covered = (await controls(page, message)).filter((c) => overlap(own, c.box));
  assert.deepEqual(
    covered.map((c) => c.name),
    [],
    `${message} at ${JSON.stringify(own)} covers ${JSON.stringify(covered)}`,
  );
}

/**
 * The text of every bar's parts that shows an ellipsis with fewer than 3 letters before it:
 * a part whose text overflows, measured by where its first three letters end.
 */
function cutNames(page: Page): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll(".bar span")]
    .filter((s) => s.checkVisibility({ visibilityProperty: true }) && s.scrollWidth > s.clientWidth)
    .filter((s) => {
      const walker = document.createTreeWalker(s, NodeFilter.SHOW_TEXT);
      const range = document.createRange();
      let letters = 0;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const text = n.textContent ?? "";
        for (let i = 0; i < text.length && letters < 3; i++) {
          if (text[i].trim() === "") continue;
          letters++;
          range.setStart(n, i);
          range.setEnd(n, i + 1);
        }
      }
      const ellipsis = 12;
      return letters < 3 || range.getBoundingClientRect().right > s.getBoundingClientRect().right - ellipsis;
    })
    .map((s) => s.closest(".bar").getAttribute("aria-label") + ": " + s.textContent)`);
}

describe("web page on every day and every screen", () => {
  let t: TestServer;
  let browser: Browser;

  before(async () => {
    assertBrowserPrerequisites();
    t = await startTestServer(embedded);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function reserve(
    resourceId: string,
    userId: string,
    start: string,
    end: string,
    extra: { note?: string; status?: S } = {},
  ) {
    const { reservation } = await t.client.reserve({
      reservation: {
        resourceId,
        userId,
        start: ts(start),
        end: ts(end),
        status: extra.status ?? S.CONFIRMED,
        note: extra.note ?? "",
      },
    });
    return reservation?.id ?? "";
  }

  for (const screen of ["laptop", "phone"] as const) {
    const phone = screen === "phone";
    // A week of its own per screen (Mondays), so the two screens' bookings do not mix.
    const monday = phone ? "2031-03-10" : "2031-03-03";
    const day = (n: number) =>
      new Date(Date.parse(`${monday}T00:00:00Z`) + n * 24 * HOUR).toISOString().slice(0, 10);
    const at = (n: number, hhmm: string) => `${day(n)}T${hhmm}:00Z`;
    const early = `early-${screen}`;

    it(`${screen}: a booking at 04:00 is in view and counted, outside the working hours`, async () => {
      await reserve(early, "dawn", at(0, "04:00"), at(0, "05:00"));
      await reserve(early, "dusk", at(0, "21:30"), at(0, "22:15"));
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${day(0)}`,
        SCREENS[screen],
      );
      const dawn = barNamed(page, `${early}, 04:00–05:00, dawn, confirmed`);
      await dawn.waitFor(WAIT);
      await page
        .locator("#summary", { hasText: /^2 reservations · / })
        .waitFor({ state: "attached", ...WAIT });
      // The hours widen to 04:00–23:00 (07–20 and the two bookings), in whole hours.
      assert.equal(
        await page.getAttribute("#timeline", "data-from"),
        String(Date.parse(at(0, "04:00"))),
      );
      assert.equal(
        await page.getAttribute("#timeline", "data-to"),
        String(Date.parse(at(0, "23:00"))),
      );
      for (const bar of [dawn, barNamed(page, `${early}, 21:30–22:15, dusk, confirmed`)]) {
        await bar.scrollIntoViewIfNeeded();
        const b = await bar.boundingBox();
        const lane = await row(page, early).locator(".lane").boundingBox();
        assert.ok(b && lane && b.width > 10, "drawn");
        assert.ok(b.x >= lane.x && b.x + b.width <= lane.x + lane.width + 1, "inside its lane");
      }
      // A day without bookings outside them keeps the working hours.
      await page.evaluate(`location.hash = "#day/${day(1)}"`);
      await page
        .locator("#summary", { hasText: "0 reservations" })
        .waitFor({ state: "attached", ...WAIT });
      assert.equal(
        await page.getAttribute("#timeline", "data-from"),
        String(Date.parse(at(1, "07:00"))),
      );
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });

    it(`${screen}: the week's day headings fit, bars are sized by time and never overlap`, async () => {
      const room = `daily-${screen}`;
      for (let n = 0; n < 5; n++) await reserve(room, "standup", at(n, "09:00"), at(n, "10:00"));
      // Back to back, 15 minutes each: the shortest bars still never cover one another.
      await reserve(room, "q1", at(5, "09:00"), at(5, "09:15"));
      await reserve(room, "q2", at(5, "09:15"), at(5, "09:30"));
      await reserve(room, "q3", at(5, "09:30"), at(5, "09:45"));
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#week/${monday}`,
        SCREENS[screen],
      );
      await row(page, room).locator(".bar").nth(7).waitFor(WAIT);

      const headings = page.locator(".axis .day-label");
      assert.equal(await headings.count(), 7);
      const boxes: Box[] = [];
      for (const heading of await headings.all()) {
        const b = await heading.boundingBox();
        assert.ok(b);
        boxes.push(b);
        const fits = await heading.evaluate(
          (h) => h.scrollWidth <= h.clientWidth && h.scrollHeight <= h.clientHeight,
        );
        assert.ok(fits, `"${await heading.textContent()}" fits its day`);
        // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point
        assert.match(await heading.innerText(), /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+\d+/);
      }
      for (let i = 1; i < boxes.length; i++) {
        const [a, b] = [boxes[i - 1], boxes[i]];
        assert.ok(a && b && a.x + a.width <= b.x + 0.5, `heading ${i} overlaps heading ${i + 1}`);
      }

      const lane = await row(page, room).locator(".lane").boundingBox();
      assert.ok(lane);
      const hour = lane.width / (7 * 24);
      const bars: Box[] = [];
      for (const bar of await row(page, room).locator(".bar").all()) {
        const b = await bar.boundingBox();
        assert.ok(b);
        bars.push(b);
      }
      for (const b of bars.slice(0, 5)) {
        assert.ok(
          Math.abs(b.width - Math.max(hour, 2)) <= 1.5,
          `an hour is ${hour} px, the bar ${b.width}`,
        );
      }
      bars.sort((a, b) => a.x - b.x);
      for (let i = 1; i < bars.length; i++) {
        const [a, b] = [bars[i - 1], bars[i]];
        assert.ok(a && b && a.x + a.width <= b.x + 0.5, `bars ${i} and ${i + 1} overlap`);
      }
      if (phone) {
        await assertPhoneLayout(page);
        // Bars an hour thin are not tap targets: a tap on the row opens its day.
        const first = bars[0];
        assert.ok(first);
        await page.touchscreen.tap(first.x + first.width / 2, first.y + first.height / 2);
        await page.locator("#range", { hasText: "Monday" }).waitFor(WAIT);
        await barNamed(page, `${room}, 09:00–10:00, standup, confirmed`).waitFor(WAIT);
      }
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });

    it(`${screen}: bars show whole words or a shorter form, never a few cut letters`, async () => {
      const names = ["dave", "alice", "facilities", "phone-booth-user"];
      const notes = ["new chairs", "phone call with the vendor", "", "daily sync"];
      const room = `names-${screen}`;
      // 15 minutes to 2 hours, at 15-minute steps, a quarter of an hour apart.
      let start = Date.parse(at(2, "07:00"));
      for (let k = 0; k < 8; k++) {
        const end = start + (k + 1) * 15 * 60_000;
        await reserve(
          room,
          names[k % 4] ?? "",
          new Date(start).toISOString(),
          new Date(end).toISOString(),
          {
            note: notes[k % 4] ?? "",
            status: [S.PENDING, S.CONFIRMED, S.BLOCKED][k % 3],
          },
        );
        start = end + 15 * 60_000;
      }
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${day(2)}`,
        SCREENS[screen],
      );
      await row(page, room).locator(".bar").nth(7).waitFor(WAIT);
      for (const zoom of ["-1", "0", "80", "120"]) {
        await page.selectOption("#zoom", zoom);
        await page.evaluate("new Promise(requestAnimationFrame)");
        await page.evaluate("new Promise(requestAnimationFrame)");
        assert.deepEqual(await cutNames(page), [], `day view, zoom ${zoom}`);
        for (const bar of await row(page, room).locator(".bar").all()) {
          const name = String(await bar.getAttribute("aria-label"));
          assert.ok((await bar.getAttribute("title"))?.startsWith(name), "its whole name on hover");
        }
      }
      await page.selectOption("#zoom", "-1");
      await page.evaluate(`location.hash = "#week/${monday}"`);
      await row(page, room).locator(".bar").nth(7).waitFor(WAIT);
      await page.evaluate("new Promise(requestAnimationFrame)");
      assert.deepEqual(await cutNames(page), [], "week view");
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });

    it(`${screen}: the legend's colours differ from each other and from every series outline`, async () => {
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${day(3)}`,
        SCREENS[screen],
      );
      // The legend (hidden on a phone) names the page's colours; each state's own differs.
      const colours = (await page.evaluate(`(() => {
        const probe = (cls) => {
          const s = document.createElement("span");
          s.className = "swatch " + cls;
          document.querySelector(".legend").append(s);
          const c = getComputedStyle(s);
          const key = [c.backgroundColor, c.backgroundImage, c.borderTopColor, c.borderTopStyle, c.outlineColor, c.outlineStyle].join(" ");
          s.remove();
          return key;
        };
        return ["pending", "confirmed", "blocked", "cancelled", "busy-swatch", "buffer-swatch", "series-swatch", "now-swatch"].map(probe);
      })()`)) as string[];
      assert.equal(new Set(colours).size, colours.length, colours.join("\n"));
      // Series outlines are violets: far in hue from the red of cancelled-era errors and "now",
      // the amber of pending, the green of confirmed and the blue of the selection.
      const series = await t.client.reserveSeries({
        first: {
          reservation: {
            resourceId: `series-${screen}`,
            userId: "kim",
            start: ts(at(3, "08:00")),
            end: ts(at(3, "09:00")),
          },
        },
        rrule: "FREQ=DAILY;COUNT=2",
      });
      assert.equal(series.reservations.length, 2);
      const member = page.locator(`.row[data-resource="series-${screen}"] .bar.grouped`).first();
      await member.waitFor(WAIT);
      const hue = await member.evaluate((b) => {
        const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(
          b.ownerDocument.defaultView?.getComputedStyle(b).outlineColor ?? "",
        );
        const [r, g, bl] = [Number(m?.[1]) / 255, Number(m?.[2]) / 255, Number(m?.[3]) / 255];
        const max = Math.max(r, g, bl);
        const min = Math.min(r, g, bl);
        const d = max - min;
        const h = max === r ? ((g - bl) / d) % 6 : max === g ? (bl - r) / d + 2 : (r - g) / d + 4;
        return (h * 60 + 360) % 360;
      });
      assert.ok(hue >= 250 && hue <= 320, `a series outline of hue ${hue}`);
      await page.context().close();
    });

    it(`${screen}: a refused booking logs no error; its message and the toast cover no control`, async () => {
      const room = `clash-${screen}`;
      await reserve(room, "zoe", at(4, "10:00"), at(4, "11:00"));
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${day(4)}`,
        SCREENS[screen],
      );
      await barNamed(page, `${room}, 10:00–11:00, zoe, confirmed`).waitFor(WAIT);
      await press(page.locator("[data-panel=book]"), phone);
      await page.fill("#reserve-form [name=resource]", room);
      await page.fill("#reserve-form [name=day]", day(4));
      await page.fill("#reserve-form [name=from]", "10:30");
      await page.fill("#reserve-form [name=to]", "11:30");
      await page.fill("#reserve-form [name=user]", "yan");
      await press(page.locator("#reserve-form button[type=submit]"), phone);
      await page.locator("#form-message.error", { hasText: "already booked" }).waitFor(WAIT);
      assert.deepEqual(
        consoleErrors(page),
        [],
        "the clash (ALREADY_EXISTS) is not a console error",
      );

      // Booked at the offered hour: a toast, with the Book panel (and its button) still open.
      await press(page.locator("#form-message button", { hasText: "instead" }), phone);
      await page.locator("#toast", { hasText: `Booked ${room}` }).waitFor(WAIT);
      await assertCoversNothing(page, "#toast");
      if (phone) await assertPhoneLayout(page);

      if (!phone) {
        // A refused drag: its message covers no bar of the next row.
        await reserve(`${room}-b`, "lee", at(4, "10:00"), at(4, "11:00"));
        const yan = barNamed(page, `${room}, 11:00–12:00, yan, pending`);
        await yan.waitFor(WAIT);
        await barNamed(page, `${room}-b, 10:00–11:00, lee, confirmed`).waitFor(WAIT);
        const b = await yan.boundingBox();
        assert.ok(b);
        await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
        await page.mouse.down();
        await page.mouse.move(b.x + b.width / 2 - b.width / 2, b.y + b.height / 2, { steps: 5 });
        await page.mouse.move(b.x + b.width / 2 - b.width, b.y + b.height / 2, { steps: 5 });
        await page.mouse.up();
        await page.locator(".clash", { hasText: "already booked" }).waitFor(WAIT);
        await assertCoversNothing(page, ".clash");
      }
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });

    it(`${screen}: the header stays put when the live feed reconnects`, async () => {
      const [host = "", port = ""] = t.app.httpAddress.split(":");
      const proxy = await startTcpProxy(host, Number(port));
      const page = await openPage(
        browser,
        `http://127.0.0.1:${proxy.port}/#day/${day(5)}`,
        SCREENS[screen],
      );
      try {
        await page.locator("#live.is-live").waitFor(WAIT);
        const header = async () => ({
          top: await page.locator(".top").boundingBox(),
          timeline: (await page.locator("#timeline").boundingBox())?.y,
        });
        const live = await header();
        await proxy.cut();
        await page.locator("#live.is-reconnecting").waitFor(WAIT);
        assert.deepEqual(await header(), live);
        await proxy.restore();
        await page.locator("#live.is-live").waitFor(WAIT);
      } finally {
        await page.context().close();
        await proxy.close();
      }
    });

    it(`${screen}: a resource registered while the page is open gets its row without a reload`, async () => {
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${day(6)}`,
        SCREENS[screen],
      );
      await page.evaluate("window.rsvpTestMarker = 'same document'");
      const fresh = `fresh-${screen}`;
      await t.resources.putResource({ resource: { id: fresh, pool: "new-pool" } });
      await row(page, fresh).waitFor(WAIT);
      await page.locator(".pool-head", { hasText: "new-pool" }).waitFor(WAIT);
      assert.equal(await page.evaluate("window.rsvpTestMarker"), "same document");
      assert.deepEqual(consoleErrors(page), []);
      await page.context().close();
    });
  }
});
