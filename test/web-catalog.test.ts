import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
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

// The page's rows from the resource catalog (ListResources): every registered resource has a
// row, empty or not, under its pool's heading; without a catalog the page works as before.
// "Find a free slot" takes a pool. On a laptop and a phone; the page runs in UTC.

const [embedded] = backends;
assert.ok(embedded);

/** The timeline's lines top to bottom: `# heading` for a pool's heading, else the resource. */
async function lines(page: Page): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll(".pool-head, .row")]
    .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
    .map((n) => n.classList.contains("pool-head") ? "# " + n.textContent : n.dataset.resource)`)) as string[];
}

describe("web page: the resource catalog's rows, pools and free slots", () => {
  let t: TestServer;
  let browser: Browser;

  before(async () => {
    assertBrowserPrerequisites();
    t = await startTestServer(embedded);
    browser = await launchChromium();
    for (const id of ["lot-b-1", "lot-b-2"]) {
      await t.resources.putResource({ resource: { id, pool: "lot-b" } });
    }
    await t.resources.putResource({ resource: { id: "room-4" } });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function seed(resourceId: string, userId: string, from: string, to: string) {
    await t.client.reserve({
      reservation: { resourceId, userId, start: ts(from), end: ts(to), status: S.CONFIRMED },
    });
  }

  async function stored(resourceId: string, day: string): Promise<string[]> {
    const out: string[] = [];
    const range = { start: ts(`${day}T00:00:00Z`), end: ts(`${day}T23:59:59Z`) };
    for await (const r of t.client.query({ resourceId, ...range })) {
      const hhmm = (s = 0n) => new Date(Number(s) * 1000).toISOString().slice(11, 16);
      out.push(`${hhmm(r.start?.seconds)}–${hhmm(r.end?.seconds)} ${r.userId} ${S[r.status]}`);
    }
    return out;
  }

  for (const screen of ["laptop", "phone"] as const) {
    const phone = screen === "phone";
    const day = phone ? "2030-06-11" : "2030-06-04";

    it(`${screen}: without a catalog (UNIMPLEMENTED, PERMISSION_DENIED) rows come from bookings, as before`, async () => {
      await seed("van-7", "bob", `${day}T08:00:00Z`, `${day}T12:00:00Z`);
      // An older service has no ResourceService; a stricter one may refuse this caller.
      const [status, code] = phone ? [403, "permission_denied"] : [404, "unimplemented"];
      let refuse = () => {};
      const refused = new Promise<void>((resolve) => {
        refuse = resolve;
      });
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${day}`,
        SCREENS[screen],
        (p) =>
          p.route("**/reservation.ResourceService/ListResources", async (route) => {
            await route.fulfill({
              status,
              contentType: "application/json",
              body: JSON.stringify({ code }),
            });
            refuse();
          }),
      );
      await refused;
      await barNamed(page, "van-7, 08:00–12:00, bob, confirmed").waitFor(WAIT);
      assert.deepEqual(await lines(page), ["van-7"]);
      assert.equal(await page.locator(".buffer").count(), 0);
      assertConsoleClean(page, [[new RegExp(`status of ${status}`), 2]]);
      await page.context().close();
    });

    it(`${screen}: every catalog resource has a row, empty or not, under its pool; Find takes a pool`, async () => {
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${day}`,
        SCREENS[screen],
      );
      await barNamed(page, "van-7, 08:00–12:00, bob, confirmed").waitFor(WAIT);
      await page.locator(".pool-head", { hasText: "lot-b" }).waitFor(WAIT);
      // van-7 has a booking but no catalog entry: a row all the same, with the unpooled.
      assert.deepEqual(await lines(page), [
        "# lot-b · 2 resources",
        "lot-b-1",
        "lot-b-2",
        "# Not in a pool · 2 resources",
        "room-4",
        "van-7",
      ]);
      for (const empty of ["lot-b-1", "lot-b-2", "room-4"]) {
        assert.equal(await row(page, empty).locator(".bar").count(), 0, `${empty} is empty`);
      }
      assert.equal(await page.getByRole("heading", { name: "lot-b · 2 resources" }).count(), 1);
      if (phone) await assertPhoneLayout(page);

      // A free hour anywhere in lot-b: each window names its resource, by start then resource.
      await seed("lot-b-1", "carl", `${day}T09:00:00Z`, `${day}T17:00:00Z`);
      await barNamed(page, "lot-b-1, 09:00–17:00, carl, confirmed").waitFor(WAIT);
      await press(page.locator("[data-panel=find]"), phone);
      await page.fill("#find-form [name=resource]", "lot-b");
      await page.fill("#find-form [name=day]", day);
      await press(page.locator("#find-form button[type=submit]"), phone);
      const offers = page.locator("#find-results button");
      await offers.first().waitFor(WAIT);
      assert.match(String(await page.textContent("#find-results")), /^1h free in pool lot-b /);
      assert.deepEqual(await offers.allTextContents(), [
        "lot-b-1 · 07:00–08:00",
        "lot-b-2 · 07:00–08:00",
        "lot-b-1 · 17:00–18:00",
      ]);
      await press(offers.nth(1), phone);
      const form = page.locator("#reserve-form");
      assert.equal(await form.locator("[name=resource]").inputValue(), "lot-b-2");
      assert.equal(await form.locator("[name=from]").inputValue(), "07:00");
      await form.locator("[name=user]").fill("mia");
      await press(form.locator("button[type=submit]"), phone);
      await barNamed(page, "lot-b-2, 07:00–08:00, mia, pending").waitFor(WAIT);
      assert.deepEqual(await stored("lot-b-2", day), ["07:00–08:00 mia PENDING"]);

      // No name: every row, one `available` per pool and per resource in none.
      let asked = 0;
      page.on("request", (r) => {
        if (r.url().endsWith("/reservation.ReservationService/available")) asked++;
      });
      await press(page.locator("[data-panel=find]"), phone);
      await page.fill("#find-form [name=resource]", "");
      await press(page.locator("#find-form button[type=submit]"), phone);
      await page.locator("#find-results button", { hasText: "van-7 · 12:00–13:00" }).waitFor(WAIT);
      assert.deepEqual(await offers.allTextContents(), [
        "lot-b-1 · 07:00–08:00",
        "lot-b-2 · 08:00–09:00",
        "lot-b-1 · 17:00–18:00",
        "room-4 · 07:00–08:00",
        "van-7 · 07:00–08:00",
        "van-7 · 12:00–13:00",
      ]);
      assert.equal(asked, 3);
      assertConsoleClean(page);
      await page.context().close();
    });
  }
});

describe("web page: a catalog of several pages", () => {
  let t: TestServer;
  let browser: Browser;

  before(async () => {
    assertBrowserPrerequisites();
    t = await startTestServer(embedded);
    browser = await launchChromium();
    // The page asks for 100 a page: 250 resources take three.
    const ids = Array.from({ length: 250 }, (_, i) => `desk-${i + 1}`);
    for (let i = 0; i < ids.length; i += 25) {
      await Promise.all(
        ids
          .slice(i, i + 25)
          .map((id) => t.resources.putResource({ resource: { id, pool: "desk" } })),
      );
    }
    await t.resources.putResource({ resource: { id: "kiosk" } });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  for (const screen of ["laptop", "phone"] as const) {
    it(`${screen}: reads every page, and shows the last row at the bottom`, async () => {
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/2030-06-04`,
        SCREENS[screen],
      );
      await page.locator(".pool-head", { hasText: "desk · 250 resources" }).waitFor(WAIT);
      await page
        .locator("#summary", { hasText: "0 reservations · 251 resources" })
        .waitFor({ state: "attached", ...WAIT });
      await page.locator("#timeline").evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      await page.locator(".pool-head", { hasText: "Not in a pool · 1 resource" }).waitFor(WAIT);
      await row(page, "kiosk").waitFor(WAIT);
      assert.equal(await row(page, "desk-250").count(), 1);
      assertConsoleClean(page);
      await page.context().close();
    });
  }
});
