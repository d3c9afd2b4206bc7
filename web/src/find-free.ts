import type { Rsvp } from "./api.js";
import { barWindow } from "./bar-text.js";
import type { CatalogRows } from "./catalog-rows.js";
import { describeError } from "./describe-error.js";
import { formatDuration } from "./format.js";
import { type FreeWindow, freeWindows, type Window } from "./free-slots.js";
import type { RowModel } from "./rows.js";
import { atHour, fromDateValue, type Hours } from "./view.js";
import { input } from "./window-fields.js";

/** What to ask `available` about: a resource, or a pool. */
interface Target {
  readonly resource: string;
  readonly pool: string;
}

/**
 * What to ask about: the named resource or pool; without a name every row, asking once per
 * pool rather than once per member.
 */
function targetsOf(named: string, rows: RowModel, catalog: CatalogRows): Target[] {
  if (named) {
    return [catalog.isPool(named) ? { resource: "", pool: named } : { resource: named, pool: "" }];
  }
  const pools = new Set<string>();
  const out: Target[] = [];
  for (const r of rows.rows()) {
    if (!r.group) out.push({ resource: r.resource, pool: "" });
    else if (!pools.has(r.group)) {
      pools.add(r.group);
      out.push({ resource: "", pool: r.group });
    }
  }
  return out;
}

/** Shown per resource, so a long free stretch does not crowd out the others. */
const PER_RESOURCE = 4;

/**
 * "Find a free slot": the free windows (`available`) of one resource, of every resource of a
 * pool the catalog knows, or of every row when none is named, within the working hours of a
 * day; each is a button that starts booking it on the resource it is free on.
 */
export function setupFindForm(
  form: HTMLFormElement,
  results: HTMLElement,
  client: Rsvp,
  rows: RowModel,
  catalog: CatalogRows,
  hours: () => Hours,
  pick: (resource: string, w: Window) => void,
): { setDay(value: string): void } {
  const resource = input(form, "resource");
  const day = input(form, "day");
  const duration = form.elements.namedItem("duration") as HTMLSelectElement;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const midnight = fromDateValue(day.value);
    if (midnight === undefined) return;
    const h = hours();
    const range = { start: atHour(midnight, h.start), end: atHour(midnight, h.end) };
    const ms = Number(duration.value) * 60_000;
    const named = resource.value.trim();
    const targets = targetsOf(named, rows, catalog);
    const pool = named ? (targets[0]?.pool ?? "") : "";
    if (targets.length === 0) {
      results.textContent = "Name a resource, or add one under Resources.";
      return;
    }
    results.textContent = "Looking…";
    try {
      // A pool's windows come by start then resource: the earliest free one first.
      const found: FreeWindow[][] = await Promise.all(
        targets.map((t) => freeWindows(client, t.resource, range, ms, t.pool)),
      );
      const list = document.createElement("ul");
      const shown = new Map<string, number>();
      for (const w of found.flat()) {
        const n = shown.get(w.resource) ?? 0;
        if (n >= PER_RESOURCE) continue;
        shown.set(w.resource, n + 1);
        const slot = { start: w.start, end: w.start + ms };
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = `${w.resource} · ${barWindow(slot)}`;
        button.title = `free ${barWindow(w)}`;
        button.addEventListener("click", () => pick(w.resource, slot));
        const item = document.createElement("li");
        item.append(button);
        list.append(item);
      }
      const what = `${formatDuration(ms)} free${pool ? ` in pool ${pool}` : ""} between ${String(h.start).padStart(2, "0")}:00 and ${String(h.end).padStart(2, "0")}:00`;
      results.replaceChildren(list.childElementCount ? `${what}:` : `Nothing ${what}.`, list);
    } catch (err) {
      results.textContent = describeError(err);
    }
  });
  return {
    setDay(value: string) {
      day.value = value;
    },
  };
}
