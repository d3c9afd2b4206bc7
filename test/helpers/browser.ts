import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { WEB_DIST } from "../../src/server/transport/web-static.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** How long a page may take to show what a test waits for: a bound, not a measurement. */
export const WAIT = { timeout: 10_000 };

/** Fails with the fix when the page was not built or Chromium is missing. */
export function assertBrowserPrerequisites(): void {
  assert.ok(
    existsSync(path.join(WEB_DIST, "index.html")),
    `the web page is not built (no ${WEB_DIST}index.html): run \`npm run build\`, which runs \`vite build web\``,
  );
  assert.ok(existsSync(CHROMIUM), `no ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
}

/** Debian's headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** The laptop and phone screens the page is tested on. */
export const SCREENS = {
  laptop: { width: 1400, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

/** What the page logged as errors: uncaught exceptions and `console.error`. */
const errors = new WeakMap<Page, string[]>();

/** The errors `page` logged so far (see {@link openPage}). */
export function consoleErrors(page: Page): readonly string[] {
  return errors.get(page) ?? [];
}

/**
 * A page in UTC with a British locale, so times and dates read the same everywhere; a phone
 * screen gets touch. Every console error and uncaught exception is recorded for
 * {@link consoleErrors}. `prepare` runs before the page loads (to route its requests, say).
 */
export async function openPage(
  browser: Browser,
  url: string,
  viewport: { width: number; height: number } = { width: 1360, height: 760 },
  prepare?: (page: Page) => Promise<unknown>,
): Promise<Page> {
  const context = await browser.newContext({
    timezoneId: "UTC",
    locale: "en-GB",
    viewport,
    hasTouch: viewport.width < 700,
  });
  const page = await context.newPage();
  const logged: string[] = [];
  errors.set(page, logged);
  page.on("console", (m) => {
    if (m.type() === "error") logged.push(`console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => logged.push(`uncaught: ${e.message}`));
  await prepare?.(page);
  await page.goto(url);
  await page.locator("#timeline .axis").waitFor(WAIT);
  return page;
}

/** A raw HTTP request: unlike fetch, it sends the path exactly as written. */
export function rawRequest(address: string, rawPath: string, method = "GET") {
  const [host, port] = address.split(":");
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = http.request({ host, port: Number(port), path: rawPath, method }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on("error", reject);
      req.end();
    },
  );
}
