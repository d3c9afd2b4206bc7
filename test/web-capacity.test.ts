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

// A counted resource's row (capacity 12): bookings that overlap are no clash, so their bars
// never lie over each other, and the row shows the use over time, "7 of 12" at the busiest
// point of each stretch. On a laptop and a phone; the page runs in UTC.

const [embedded] = backends;
assert.ok(embedded);

type Box = { x: number; y: number; width: number; height: number };
const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** The boxes of the bars of a row, with their names. */
async function barBoxes(page: Page, resource: string): Promise<Array<[string, Box]>> {
  const bars = row(page, resource).locator(".bar");
  const out: Array<[string, Box]> = [];
  for (let i = 0; i < (await bars.count()); i++) {
    const box = await bars.nth(i).boundingBox();
    assert.ok(box);
    out.push([String(await bars.nth(i).getAttribute("aria-label")), box]);
  }
  return out;
}

describe("web page: a counted resource's use over time", () => {
  let t: TestServer;
  let browser: Browser;

  before(async () => {
    assertBrowserPrerequisites();
    t = await startTestServer(embedded);
    browser = await launchChromium();
    await t.resources.putResource({ resource: { id: "desks", capacity: 12 } });
    await t.resources.putResource({ resource: { id: "room-9" } });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function seed(userId: string, from: string, to: string, quantity: number, status: S) {
    const { reservation } = await t.client.reserve({
      reservation: { resourceId: "desks", userId, start: ts(from), end: ts(to), quantity, status },
    });
    return reservation?.id ?? "";
  }

  for (const screen of ["laptop", "phone"] as const) {
    const phone = screen === "phone";
    const day = phone ? "2030-07-09" : "2030-07-02";
    const at = (hhmm: string) => `${day}T${hhmm}:00Z`;

    it(`${screen}: overlapping bookings in tracks, the use as "7 of 12" at the busiest point`, async () => {
      await seed("alice", at("09:00"), at("12:00"), 4, S.CONFIRMED);
      await seed("bob", at("10:00"), at("11:00"), 3, S.PENDING);
      const carol = await seed("carol", at("10:30"), at("13:00"), 5, S.CONFIRMED);
      await seed("dave", at("14:00"), at("16:00"), 7, S.CONFIRMED);
      await t.client.reserve({
        reservation: {
          resourceId: "room-9",
          userId: "erin",
          start: ts(at("09:00")),
          end: ts(at("10:00")),
        },
      });
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${day}`,
        SCREENS[screen],
      );
      await barNamed(page, "desks, 14:00–16:00, dave, confirmed").waitFor(WAIT);
      // The row is counted once the catalog (which knows the capacity) is read.
      await page.locator('.row.counted[data-resource="desks"]').waitFor(WAIT);
      const desks = row(page, "desks");
      assert.equal(await row(page, "room-9").locator(".use").count(), 0, "an exclusive row");

      // No bar lies over another, though four bookings overlap.
      const boxes = await barBoxes(page, "desks");
      assert.equal(boxes.length, 4);
      for (const [i, [a, boxA]] of boxes.entries()) {
        for (const [b, boxB] of boxes.slice(i + 1)) {
          assert.ok(!overlap(boxA, boxB), `${a} lies over ${b}`);
        }
      }

      // One stretch of use per run of time with a unit in use; 4 + 3 + 5 at 10:30–11:00.
      const uses = desks.locator(".use");
      assert.deepEqual(
        await uses.evaluateAll((ns) => ns.map((n) => n.getAttribute("aria-label"))),
        [
          "desks, 09:00–13:00, at most 12 of 12 in use (10:30–11:00), full",
          "desks, 14:00–16:00, at most 7 of 12 in use (14:00–16:00)",
        ],
      );
      const labels = desks.locator(".use-label");
      assert.deepEqual(await labels.allTextContents(), ["12 of 12", "7 of 12"]);
      for (let i = 0; i < 2; i++) assert.ok(await labels.nth(i).isVisible());
      // The label stands at the busiest point: 10:30 of the stretch 09:00–13:00.
      const stretch = await uses.first().boundingBox();
      const label = await labels.first().boundingBox();
      assert.ok(stretch && label);
      const peakX = stretch.x + (stretch.width * 1.5) / 4;
      assert.ok(Math.abs(label.x - peakX) < 2, `label at ${label.x}, the peak at ${peakX}`);
      assert.ok(label.x + label.width <= stretch.x + stretch.width + 0.5, "inside its stretch");
      // Steps as tall as the share in use: 4, 7, 12 (full), 9, 5 of 12 units.
      const steps = await desks
        .locator(".use-step")
        .evaluateAll((ns) =>
          ns.map((n) => `${n.getAttribute("style")}${n.classList.contains("full") ? " full" : ""}`),
        );
      const use = (style: string) =>
        `${/--use: ([\d.]+)/.exec(style)?.[1]}${style.endsWith(" full") ? " full" : ""}`;
      assert.deepEqual(steps.map(use), [
        String(4 / 12),
        String(7 / 12),
        "1 full",
        String(9 / 12),
        String(5 / 12),
        String(7 / 12),
      ]);

      // Pressed, a stretch says who is in it.
      await press(uses.first(), phone);
      await page
        .locator("#toast", {
          hasText:
            "desks, 09:00–13:00: at most 12 of 12 in use (10:30–11:00, full). alice 09:00–12:00 ×4; bob 10:00–11:00 ×3; carol 10:30–13:00 ×5.",
        })
        .waitFor(WAIT);
      // A stretch is not the lane: pressing it books nothing.
      assert.equal(await page.locator("#reserve-form [name=resource]").inputValue(), "");
      if (phone) await assertPhoneLayout(page);
      else {
        // On a laptop a bar is still a booking's button.
        await barNamed(page, "desks, 10:00–11:00, bob, pending").click();
        await page.locator("#details", { hasText: "bob" }).waitFor(WAIT);
      }

      // Live: carol cancels, and the use follows.
      await t.client.cancel({ id: carol });
      await labels.filter({ hasText: "7 of 12" }).nth(1).waitFor(WAIT);
      assert.deepEqual(await labels.allTextContents(), ["7 of 12", "7 of 12"]);
      assertConsoleClean(page);
      await page.context().close();
    });
  }
});
