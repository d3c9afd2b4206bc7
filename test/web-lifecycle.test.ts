import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import {
  assertBrowserPrerequisites,
  consoleErrors,
  launchChromium,
  openPage,
  WAIT,
} from "./helpers/browser.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

// The life of a booking on the page: check-in, waits shown apart from bookings and promoted
// live, and a pending reservation of an approval resource confirmed from the details panel.

const MINUTE = 60_000;
/** Whole minutes from now (the page shows minutes), as an ISO time. */
const at = (minutes: number) =>
  new Date(Math.ceil(Date.now() / MINUTE) * MINUTE + minutes * MINUTE).toISOString();

const bar = (page: Page, id: string) => page.locator(`.bar[data-id="${id}"]`);

for (const backend of backends) {
  describe(`the page: check-in, waits, approval (${backend.name})`, () => {
    let t: TestServer;
    let browser: Browser;
    before(async () => {
      assertBrowserPrerequisites();
      t = await startTestServer(backend);
      browser = await launchChromium();
    });
    after(async () => {
      await browser.close();
      await t.close();
    });

    const book = async (
      resourceId: string,
      userId: string,
      from: string,
      to: string,
      more = {},
    ) => {
      const { reservation } = await t.client.reserve({
        reservation: { resourceId, userId, start: ts(from), end: ts(to), status: S.CONFIRMED },
        ...more,
      });
      assert.ok(reservation);
      return reservation;
    };

    it("checks in, shows a wait apart and promotes it live, and confirms for approval", async () => {
      await t.resources.putResource({ resource: { id: "board", approval: true } });
      const [from, to] = [at(5), at(35)];
      const mine = await book("room-a", "alice", from, to);
      const wait = await book("room-a", "bob", from, to, { wait: true });
      assert.equal(wait.status, S.WAITING);
      const toConfirm = await t.client.reserve({
        reservation: {
          resourceId: "board",
          userId: "dan",
          start: ts(at(80)),
          end: ts(at(110)),
          status: S.PENDING,
        },
      });
      const page = await openPage(browser, `http://${t.app.httpAddress}/#day/${from.slice(0, 10)}`);
      await bar(page, mine.id).waitFor(WAIT);

      // The wait is drawn, but not as a booking: its own class and a strip, not a bar's height.
      const waiting = bar(page, wait.id);
      await waiting.waitFor(WAIT);
      assert.match((await waiting.getAttribute("class")) ?? "", /\bwaiting\b/);
      assert.match((await waiting.getAttribute("aria-label")) ?? "", /bob, waiting$/);
      const [booked, strip] = [await bar(page, mine.id).boundingBox(), await waiting.boundingBox()];
      assert.ok(booked && strip && strip.height < booked.height / 2, "a strip, not a booked bar");

      // Check in from the details panel.
      await bar(page, mine.id).click();
      const checkIn = page.locator("#details button", { hasText: "Check in" });
      await checkIn.click();
      await page.locator("#details dt", { hasText: "Checked in" }).waitFor(WAIT);
      assert.equal(await checkIn.isDisabled(), true, "once");

      // Someone else cancels: the wait is promoted, and the page shows it live.
      await t.client.cancel({ id: mine.id, reason: "plans changed" });
      await page.locator(`.bar.confirmed[data-id="${wait.id}"]`).waitFor(WAIT);

      // An admin (everyone, with authentication off) confirms from the details panel.
      const dan = toConfirm.reservation?.id ?? "";
      await bar(page, dan).click();
      await page.locator("#details button", { hasText: "Confirm" }).click();
      await page.locator(`.bar.confirmed[data-id="${dan}"]`).waitFor(WAIT);
      assert.deepEqual(consoleErrors(page), []);
    });
  });
}
