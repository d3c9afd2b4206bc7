import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { consoleErrors, SCREENS } from "./browser.js";

/** A resource's row on the timeline. */
export const row = (page: Page, resource: string): Locator =>
  page.locator(`.row[data-resource="${resource}"]`);

/** The bar whose accessible name is `name` ("room-2, 10:00–11:00, bob, confirmed"). */
export const barNamed = (page: Page, name: string): Locator =>
  page.locator(`.bar[aria-label="${name}"]`);

/** Taps (phone) or clicks (laptop) a locator. */
export async function press(target: Locator, phone: boolean): Promise<void> {
  if (phone) await target.tap();
  else await target.click();
}

/**
 * Fails on any console error of `page` but those `expected` names, each at most as often as
 * given (Chromium logs every HTTP error answer itself, a 409 clash say).
 */
export function assertConsoleClean(page: Page, expected: ReadonlyArray<[RegExp, number]> = []) {
  const left = [...consoleErrors(page)];
  for (const [pattern, most] of expected) {
    const hits = left.filter((e) => pattern.test(e));
    assert.ok(hits.length <= most, `${hits.length} × ${pattern}, at most ${most} expected`);
    for (const hit of hits) left.splice(left.indexOf(hit), 1);
  }
  assert.deepEqual(left, [], "console errors");
}

/** Screen-size promises: nothing wider than the screen, every control at least 44 px. */
export async function assertPhoneLayout(page: Page): Promise<void> {
  await page.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))"); // the sheet sliding in
  const width = await page.evaluate("document.documentElement.scrollWidth");
  assert.ok(Number(width) <= SCREENS.phone.width, `the page is ${width} px wide`);
  // Checkboxes are inside 44 px labels; a hidden control (closed sheet) is not a target, nor
  // is a bar a tap passes through (a week's, drawn to scale: a tap opens its day).
  const small = await page.evaluate(`[...document.querySelectorAll("button, input, select, .bar")]
    .filter((e) => e.checkVisibility() && e.type !== "checkbox" && getComputedStyle(e).pointerEvents !== "none")
    .filter((e) => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })
    .map((e) => e.tagName + " " + (e.getAttribute("aria-label") ?? e.name ?? e.textContent.trim()) + " " + Math.round(e.getBoundingClientRect().width) + "x" + Math.round(e.getBoundingClientRect().height))`);
  assert.deepEqual(small, [], "tap targets under 44 px");
}
