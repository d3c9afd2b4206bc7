import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { assertBrowserPrerequisites, launchChromium, openPage, WAIT } from "./helpers/browser.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { grpcCaller } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor } from "./helpers/tokens.js";

const [embedded] = backends;
assert.ok(embedded);

describe("the web page with authentication on", () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  const ids: Record<string, string> = {};

  before(async () => {
    assertBrowserPrerequisites();
    t = await startTestServer(embedded, undefined, { auth: TEST_AUTH });
    const admin = grpcCaller(t.client, await tokenFor("root", "admin"));
    for (const [user, h] of [
      ["alice", 10],
      ["bob", 12],
    ] as const) {
      const { reservation } = await admin.reserve({
        reservation: {
          userId: user,
          resourceId: "web-room",
          start: ts(`2030-01-01T${h}:00:00Z`),
          end: ts(`2030-01-01T${h + 1}:00:00Z`),
        },
      });
      ids[user] = reservation?.id ?? "";
    }
    // A pool of two spots; bob holds one of them for an hour.
    const asAdmin = { metadata: { authorization: `Bearer ${await tokenFor("root", "admin")}` } };
    for (const id of ["web-spot-1", "web-spot-2"]) {
      await t.resources.putResource({ resource: { id, pool: "web-lot" } }, asAdmin);
    }
    await admin.reserve({
      reservation: {
        userId: "bob",
        resourceId: "web-spot-2",
        start: ts("2030-01-01T11:00:00Z"),
        end: ts("2030-01-01T12:00:00Z"),
      },
    });
    browser = await launchChromium();
    page = await openPage(browser, `http://${t.app.httpAddress}/#day/2030-01-01`);
  });
  after(async () => {
    await browser?.close(); // first: its open listen stream would hold the server's close
    await t?.close();
  });

  it("without a token it says what is missing", async () => {
    await page.locator("#summary", { hasText: "wants a valid token" }).waitFor(WAIT);
    assert.equal(await page.locator(".bar").count(), 0);
  });

  it("with a user's token it shows that user's reservations only, and reserves as them", async () => {
    await page.click("[data-panel=access]");
    await page.fill("[name=token]", await tokenFor("alice", "user"));
    await page.click("#token-form button[type=submit]");
    await page.locator(`.bar[data-id="${ids.alice}"]`).waitFor(WAIT);
    assert.equal(await page.locator(`.bar[data-id="${ids.bob}"]`).count(), 0);
    assert.equal(
      await page.evaluate("localStorage.getItem('rsvp.token') !== null"),
      true,
      "kept across reloads",
    );

    // Bob's reservation shows as busy: when, never whose or why.
    const busy = page.locator('.row[data-resource="web-room"] .busy');
    await busy.waitFor(WAIT);
    assert.equal(await busy.count(), 1);
    assert.equal(await busy.getAttribute("aria-label"), "web-room, 12:00–13:00, busy");
    assert.doesNotMatch(String(await page.textContent("#timeline")), /bob/);

    // The user field may stay empty: the token says who.
    await page.click("[data-panel=book]");
    await page.fill("#reserve-form [name=resource]", "web-room");
    await page.fill("#reserve-form [name=day]", "2030-01-01");
    await page.fill("#reserve-form [name=from]", "14:00");
    await page.fill("#reserve-form [name=to]", "15:00");
    await page.click("#reserve-form button[type=submit]");
    await page.locator("#form-message.ok").waitFor(WAIT);
    const mine = await grpcCaller(t.client, await tokenFor("alice", "user")).query({});
    assert.deepEqual(
      mine.map((r) => r.userId),
      ["alice", "alice"],
      "the form's reservation is alice's",
    );
    // Her own new booking is a bar, not busy; bob's hour stays the one busy block.
    await page.locator('.row[data-resource="web-room"] .bar').nth(1).waitFor(WAIT);
    assert.deepEqual(
      await page
        .locator('.row[data-resource="web-room"] .busy')
        .evaluateAll((els) => els.map((e) => e.getAttribute("aria-label"))),
      ["web-room, 12:00–13:00, busy"],
    );

    // Another user's window still clashes, without naming them.
    await page.fill("#reserve-form [name=from]", "12:30");
    await page.fill("#reserve-form [name=to]", "13:30");
    await page.click("#reserve-form button[type=submit]");
    const message = page.locator("#form-message.error");
    await message.waitFor(WAIT);
    assert.match((await message.textContent()) ?? "", /web-room is already booked/);
    assert.doesNotMatch((await message.textContent()) ?? "", /bob/);
  });

  it("with a user's token the catalog's pool has its rows, its busy windows from one call", async () => {
    // What each `available` asked about (binary protobuf: the names are there as bytes).
    const asked: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/reservation.ReservationService/available")) {
        asked.push(r.postDataBuffer()?.toString("latin1") ?? "");
      }
    });
    await page.reload();
    await page.locator(".pool-head", { hasText: "web-lot · 2 resources" }).waitFor(WAIT);
    const busy = page.locator('.row[data-resource="web-spot-2"] .busy');
    await busy.waitFor(WAIT);
    assert.equal(await busy.getAttribute("aria-label"), "web-spot-2, 11:00–12:00, busy");
    assert.equal(await page.locator('.row[data-resource="web-spot-1"] .busy').count(), 0);
    // The pool is asked about as one, never member by member.
    assert.ok(asked.some((body) => body.includes("web-lot")));
    assert.deepEqual(
      asked.filter((body) => body.includes("web-spot")),
      [],
    );
  });
});
