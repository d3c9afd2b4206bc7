import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Browser, Page } from "playwright-core";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import { webStatic } from "../src/server/transport/web-static.js";
import {
  assertBrowserPrerequisites,
  consoleErrors,
  launchChromium,
  openPage,
  rawRequest,
  SCREENS,
  WAIT,
} from "./helpers/browser.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { startTcpProxy } from "./helpers/tcp-proxy.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const SHOTS = "test-results";
const HOUR = 3_600_000;

const row = (page: Page, resource: string) => page.locator(`.row[data-resource="${resource}"]`);
const bar = (page: Page, id: string) => page.locator(`.bar[data-id="${id}"]`);

describe("web page files", () => {
  let t: TestServer;
  let address: string;
  before(async () => {
    assertBrowserPrerequisites();
    const [embedded] = backends;
    assert.ok(embedded);
    t = await startTestServer(embedded);
    address = t.app.httpAddress;
  });
  after(() => t?.close());

  it("serves index.html at / and the bundled assets with their content types", async () => {
    const index = await rawRequest(address, "/");
    assert.equal(index.status, 200);
    assert.equal(index.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(index.headers["cache-control"], "no-cache");
    assert.match(String(index.headers["content-security-policy"]), /default-src 'self'/);
    assert.match(index.body, /<title>rsvp · timeline<\/title>/);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(index.body)?.[1];
    const style = /href="(\/assets\/[^"]+\.css)"/.exec(index.body)?.[1];
    assert.ok(script && style, "index.html links a bundled script and style sheet");
    const js = await rawRequest(address, script);
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(js.headers["cache-control"], "public, max-age=31536000, immutable");
    const css = await rawRequest(address, style);
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    const head = await rawRequest(address, "/", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(Number(head.headers["content-length"]), Buffer.byteLength(index.body));
  });

  it("serves nothing outside web/dist, whatever the path says", async () => {
    for (const p of [
      "/../package.json",
      "/%2e%2e/package.json",
      "/assets/..%2f..%2f..%2fpackage.json",
      "/..%5c..%5cpackage.json",
      "/%2e%2e%2f%2e%2e%2fsrc/server/web-static.ts",
      "/assets/%00index.html",
      "/%E0%A4%A",
      "/assets",
      "/no-such-file.js",
    ]) {
      const res = await rawRequest(address, p);
      assert.equal(res.status, 404, `${p} is not served`);
      assert.doesNotMatch(res.body, /"name": "rsvp"|webStatic/, `${p} leaks nothing`);
    }
    assert.equal((await rawRequest(address, "/", "DELETE")).status, 404);
  });

  it("says how to build the page when web/dist is missing", async () => {
    const empty = await mkdtemp(path.join(tmpdir(), "rsvp-web-"));
    const route = webStatic(empty);
    const server = http.createServer(async (req, res) => {
      if (!(await route(req, res))) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const addr = server.address();
      assert.ok(addr && typeof addr === "object");
      const res = await rawRequest(`127.0.0.1:${addr.port}`, "/");
      assert.equal(res.status, 503);
      assert.match(res.body, /npm run build/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await rm(empty, { recursive: true });
    }
  });
});

for (const backend of backends) {
  describe(`web timeline in Chromium (${backend.name})`, () => {
    let t: TestServer;
    let browser: Browser;
    let page: Page;
    // A fixed day far from now, addressed by the page's #day/… hash.
    const day = Date.parse("2030-01-01T00:00:00Z");
    const at = (h: number) => day + h * HOUR;
    const ids: Record<string, string> = {};

    before(async () => {
      assertBrowserPrerequisites();
      t = await startTestServer(backend);
      browser = await launchChromium();
      page = await openPage(browser, `http://${t.app.httpAddress}/#day/2030-01-01`);
      // Gone if the page ever reloads.
      await page.evaluate("window.rsvpTestMarker = 'same document'");
    });
    after(async () => {
      await browser?.close(); // first: its open listen stream would hold the server's close
      await t?.close();
    });

    async function reserveWithForm(resource: string, user: string, from: string, to: string) {
      await page.click("[data-panel=book]");
      await page.fill("#reserve-form [name=resource]", resource);
      await page.fill("#reserve-form [name=day]", "2030-01-01");
      await page.fill("#reserve-form [name=from]", from);
      await page.fill("#reserve-form [name=to]", to);
      await page.fill("#reserve-form [name=user]", user);
      await page.fill("#reserve-form [name=note]", `${user}'s booking`);
      await page.click("#reserve-form button[type=submit]");
    }

    it("shows the requested day, from the working hours' start", async () => {
      assert.equal(await page.getAttribute("#timeline", "data-from"), String(at(7)));
      assert.equal(await page.getAttribute("#timeline", "data-to"), String(at(20)));
      assert.equal(await page.textContent("#range"), "Tuesday, 1 January 2030");
    });

    it("reserves through the form and shows time, user and note on the bar", async () => {
      await reserveWithForm("room-a", "alice", "10:00", "11:00");
      const made = row(page, "room-a").locator(".bar");
      await made.waitFor(WAIT);
      assert.equal(await made.textContent(), "10:00–11:00 alicealice's booking");
      assert.equal(await made.getAttribute("aria-label"), "room-a, 10:00–11:00, alice, pending");
      assert.match(String(await made.getAttribute("class")), /\bpending\b/);
      ids.alice = String(await made.getAttribute("data-id"));
      const stored = await t.client.get({ id: ids.alice });
      assert.equal(stored.reservation?.resourceId, "room-a");
      assert.match(String(await page.textContent("#form-message")), /Reserved room-a/);
    });

    it("shows a clashing reserve's error in plain words and offers the next free hour", async () => {
      await reserveWithForm("room-a", "bob", "10:30", "11:30");
      const message = page.locator("#form-message.error");
      await message.waitFor(WAIT);
      await message.locator("button", { hasText: "Book 11:00–12:00 instead" }).waitFor(WAIT);
      assert.match(
        String(await message.textContent()),
        /^room-a is already booked 10:00–11:00 on Tue 1 Jan\./,
      );
      assert.equal(await row(page, "room-a").locator(".bar").count(), 1);
    });

    it("questions a resource spelled like a known one instead of making a new row", async () => {
      await reserveWithForm("Room A", "bob", "15:00", "16:00");
      await page.locator("#form-message.error", { hasText: "did you mean room-a?" }).waitFor(WAIT);
      assert.equal(await page.inputValue("#reserve-form [name=resource]"), "room-a");
      assert.equal(await page.locator(".row").count(), 1);
      for await (const r of t.client.query({ resourceId: "Room A" })) assert.fail(`made ${r.id}`);
    });

    it("confirms the selected reservation", async () => {
      await bar(page, ids.alice ?? "").click();
      assert.match(String(await page.textContent("#details")), /alice/);
      await page.click("#details button:has-text('Confirm')");
      await page.locator(`.bar.confirmed[data-id="${ids.alice}"]`).waitFor(WAIT);
      const stored = await t.client.get({ id: ids.alice ?? "" });
      assert.equal(stored.reservation?.status, S.CONFIRMED);
    });

    it("shows a reservation made by another client, without a reload", async () => {
      const { reservation } = await t.client.reserve({
        reservation: {
          resourceId: "room-b",
          userId: "carol",
          start: ts(new Date(at(13)).toISOString()),
          end: ts(new Date(at(15)).toISOString()),
          note: "from the CLI",
        },
      });
      ids.carol = reservation?.id ?? "";
      await bar(page, ids.carol).waitFor(WAIT);
      assert.equal(
        await bar(page, ids.carol).getAttribute("aria-label"),
        "room-b, 13:00–15:00, carol, pending",
      );
      assert.equal(await page.evaluate("window.rsvpTestMarker"), "same document");
    });

    it("drops a reservation another client cancels", async () => {
      await t.client.cancel({ id: ids.alice ?? "" });
      await bar(page, ids.alice ?? "").waitFor({ state: "detached", ...WAIT });
      assert.match(String(await page.textContent("#details")), /cancelled/);
      assert.equal(await page.evaluate("window.rsvpTestMarker"), "same document");
    });

    it("cancels from the page, and shows cancelled reservations only when asked", async () => {
      await bar(page, ids.carol ?? "").click();
      await page.click("#details button:has-text('Cancel reservation')");
      await bar(page, ids.carol ?? "").waitFor({ state: "detached", ...WAIT });
      assert.equal((await t.client.get({ id: ids.carol ?? "" })).reservation?.status, S.CANCELLED);
      await page.locator("#toast", { hasText: "Cancelled room-b 13:00–15:00." }).waitFor(WAIT);
      await page.check("#show-cancelled");
      await page.locator(`.bar.cancelled[data-id="${ids.alice}"]`).waitFor(WAIT);
      await page.locator(`.bar.cancelled[data-id="${ids.carol}"]`).waitFor(WAIT);
      await page.uncheck("#show-cancelled");
      await bar(page, ids.carol ?? "").waitFor({ state: "detached", ...WAIT });
    });

    it("resumes the live feed from its cursor after the connection drops", async () => {
      const [host = "", port = ""] = t.app.httpAddress.split(":");
      const proxy = await startTcpProxy(host, Number(port));
      const other = await openPage(browser, `http://127.0.0.1:${proxy.port}/#day/2030-01-01`);
      try {
        const reserveAt = async (from: number) => {
          const { reservation } = await t.client.reserve({
            reservation: {
              resourceId: "room-d",
              userId: "erin",
              start: ts(new Date(at(from)).toISOString()),
              end: ts(new Date(at(from + 1)).toISOString()),
            },
          });
          return reservation?.id ?? "";
        };
        await bar(other, await reserveAt(8)).waitFor(WAIT); // the page now holds a cursor
        let queries = 0;
        other.on("request", (r) => {
          if (r.url().endsWith("/reservation.ReservationService/query")) queries++;
        });
        await proxy.cut();
        await other.locator("#live.is-reconnecting").waitFor(WAIT);
        const missed = await reserveAt(9); // while the page cannot hear it
        await proxy.restore();
        await bar(other, missed).waitFor(WAIT);
        assert.equal(queries, 0, "caught up through listen, without loading the view again");
      } finally {
        await other.context().close();
        await proxy.close();
      }
    });

    it("moves between days and weeks", async () => {
      const erin = row(page, "room-d").locator(".bar").first();
      await page.click("#next");
      assert.equal(await page.textContent("#range"), "Wednesday, 2 January 2030");
      await erin.waitFor({ state: "detached", ...WAIT });
      await page.click("[data-zoom=week]");
      assert.equal(await page.textContent("#range"), "Mon 31 Dec – Sun 6 Jan");
      await erin.waitFor(WAIT);
      assert.equal(
        await erin.getAttribute("aria-label"),
        "room-d, Tue 1 Jan 08:00–09:00, erin, pending",
      );
      await mkdir(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `timeline-${backend.name}.png`) });
    });

    it("logged no errors to the console, the refused clash included", () => {
      // gRPC-Web answers the clash (ALREADY_EXISTS) with HTTP 200 and the status in trailers.
      assert.deepEqual(consoleErrors(page), []);
    });
  });
}

describe("web timeline with 50 resources and 5000 reservations", () => {
  let t: TestServer;
  let browser: Browser;
  const week = Date.parse("2030-01-07T00:00:00Z"); // a Monday
  const resources = Array.from({ length: 50 }, (_, i) => `desk-${i + 1}`);

  before(async () => {
    assertBrowserPrerequisites();
    const [embedded] = backends;
    assert.ok(embedded);
    t = await startTestServer(embedded);
    browser = await launchChromium();
    // 100 one-hour bookings a desk across the week, a few calls at a time.
    const jobs = resources.flatMap((resourceId, r) =>
      Array.from({ length: 100 }, (_, k) => ({
        resourceId,
        userId: `user-${(r * 7 + k) % 40}`,
        status: [S.PENDING, S.CONFIRMED, S.BLOCKED][k % 3],
        start: ts(new Date(week + k * 1.5 * HOUR).toISOString()),
        end: ts(new Date(week + (k * 1.5 + 1) * HOUR).toISOString()),
      })),
    );
    for (let i = 0; i < jobs.length; i += 50) {
      await Promise.all(
        jobs.slice(i, i + 50).map((reservation) => t.client.reserve({ reservation })),
      );
    }
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it("builds only the rows in view, and the rest as they scroll in", async () => {
    const page = await openPage(browser, `http://${t.app.httpAddress}/#week/2030-01-07`);
    await page.locator("#summary", { hasText: "5000 reservations · 50 resources" }).waitFor(WAIT);
    await row(page, "desk-1").locator(".bar").first().waitFor(WAIT);
    const rows = await page.locator(".row").count();
    assert.ok(rows > 10 && rows < 50, `${rows} of 50 rows built`);
    assert.equal(await page.locator(".bar").count(), rows * 100, "each built row has all its bars");
    await page.locator("#timeline").evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await row(page, "desk-50").waitFor(WAIT);
    assert.equal(await row(page, "desk-1").count(), 0, "rows scrolled out are gone");
    assert.equal(await row(page, "desk-50").locator(".bar").count(), 100);
  });
});

describe("README screenshots", () => {
  let t: TestServer;
  let browser: Browser;
  const now = Date.now();
  const today = now - (now % (24 * HOUR));
  const date = new Date(today).toISOString().slice(0, 10);
  const h = (x: number) => ts(new Date(today + x * HOUR).toISOString());
  const plan: Array<[string, string, number, number, S, string]> = [
    ["boardroom", "alice", 8, 9.5, S.CONFIRMED, "quarterly planning"],
    ["boardroom", "bob", 10, 11, S.PENDING, "hiring panel"],
    ["boardroom", "carol", 13, 15, S.CONFIRMED, "customer workshop"],
    ["boardroom", "dave", 16, 17.5, S.PENDING, "retro"],
    ["focus-room-1", "erin", 9, 12, S.CONFIRMED, "deep work"],
    ["focus-room-1", "frank", 14, 16, S.PENDING, ""],
    ["focus-room-2", "grace", 7.5, 8.5, S.CONFIRMED, "1:1"],
    ["focus-room-2", "facilities", 11, 13, S.BLOCKED, "new chairs"],
    ["focus-room-2", "heidi", 15, 18, S.CONFIRMED, "interview loop"],
    ["projector-2", "ivan", 9.5, 10.5, S.PENDING, "demo"],
    ["projector-2", "judy", 12, 14.5, S.CONFIRMED, "all-hands"],
    ["van-7", "mallory", 7, 11, S.CONFIRMED, "site visit"],
    ["van-7", "facilities", 12, 19, S.BLOCKED, "service"],
    ["lab-bench-3", "niaj", 8, 18, S.CONFIRMED, "long run"],
    ["lab-bench-4", "olivia", 10, 12.5, S.PENDING, "calibration"],
    ["lab-bench-4", "peggy", 13.5, 16, S.CONFIRMED, ""],
    ["meeting-room-3", "rupert", 9, 10, S.CONFIRMED, "standup"],
    ["meeting-room-3", "sybil", 10, 11, S.CONFIRMED, "design review"],
    ["meeting-room-3", "trent", 11, 12, S.PENDING, "vendor call"],
    ["meeting-room-3", "victor", 15.5, 17, S.PENDING, ""],
    ["parking-12", "walter", 7, 19, S.CONFIRMED, "visitor"],
    ["studio", "facilities", 7, 9, S.BLOCKED, "lighting rig"],
    ["studio", "alice", 9.5, 12, S.CONFIRMED, "product shoot"],
    ["studio", "bob", 13, 18, S.PENDING, "podcast"],
    ["workshop", "carol", 8.5, 10.5, S.CONFIRMED, "laser cutter"],
    ["workshop", "erin", 11, 13.5, S.PENDING, "3D printing"],
  ];

  const catalog: Array<[string, string]> = [
    ["focus-room-1", "meeting-rooms"],
    ["focus-room-2", "meeting-rooms"],
    ["meeting-room-3", "meeting-rooms"],
    ["lab-bench-3", "labs"],
    ["lab-bench-4", "labs"],
    ["lab-bench-5", "labs"],
  ];

  before(async () => {
    assertBrowserPrerequisites();
    const [embedded] = backends;
    assert.ok(embedded);
    t = await startTestServer(embedded);
    browser = await launchChromium();
    // A catalog: two pools (one with an empty bench), and cleaning time around the boardroom.
    for (const [id, pool] of catalog) await t.resources.putResource({ resource: { id, pool } });
    await t.resources.putResource({
      resource: {
        id: "boardroom",
        pool: "meeting-rooms",
        bufferBefore: durationFromMs(10 * 60_000),
        bufferAfter: durationFromMs(15 * 60_000),
      },
    });
    for (const [resourceId, userId, from, to, status, note] of plan) {
      await t.client.reserve({
        reservation: { resourceId, userId, start: h(from), end: h(to), status, note },
      });
    }
    await t.client.reserveSeries({
      first: {
        reservation: {
          resourceId: "projector-2",
          userId: "kim",
          start: h(15),
          end: h(16),
          status: S.CONFIRMED,
          note: "daily sync",
        },
      },
      rrule: "FREQ=DAILY;COUNT=5",
    });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /**
   * Saves the page to test-results/; `RSVP_UPDATE_SCREENSHOTS=1 npm test -- web` also refreshes
   * the README's copy in docs/, so a test run never rewrites docs/ by accident.
   */
  async function shoot(page: Page, name: string) {
    await mkdir(SHOTS, { recursive: true });
    const shot = path.join(SHOTS, name);
    await page.screenshot({ path: shot });
    if (process.env.RSVP_UPDATE_SCREENSHOTS === "1") await copyFile(shot, path.join("docs", name));
  }

  for (const [screen, name] of [
    ["laptop", "timeline.png"],
    ["phone", "timeline-phone.png"],
  ] as const) {
    it(`renders a realistic day around now on a ${screen}`, async () => {
      const page = await openPage(
        browser,
        `http://${t.app.httpAddress}/#day/${date}`,
        SCREENS[screen],
      );
      await page
        .locator("#summary", { hasText: `${plan.length + 1} reservations · 12 resources` })
        .waitFor({ state: "attached", ...WAIT });
      await row(page, "workshop").locator(".bar").first().waitFor(WAIT);
      await page.locator(".pool-head", { hasText: "meeting-rooms · 4 resources" }).waitFor(WAIT);
      if (screen === "laptop") {
        await row(page, "boardroom").locator(".bar").nth(2).click();
        await page.locator("#details h2", { hasText: "boardroom · 13:00–15:00" }).waitFor(WAIT);
      }
      // The same picture whenever it is taken: from 07:00, the working hours' start, so no bar
      // begins off screen, once the page has scrolled itself.
      await page.evaluate("new Promise(requestAnimationFrame)");
      await page.locator("#timeline").evaluate((el) => {
        el.scrollLeft = 0;
      });
      await shoot(page, name);
      assert.equal(await page.locator(".row").count(), 12, "a row per resource, lab-bench-5 too");
      assert.deepEqual(consoleErrors(page), []);
    });
  }
});
