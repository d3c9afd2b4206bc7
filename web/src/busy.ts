import type { Rsvp } from "./api.js";
import { type FreeWindow, freeWindows, type Window } from "./free-slots.js";
import type { Row } from "./rows.js";
import type { Busy } from "./timeline-row.js";

/** `range` minus `holes` (each sorted or not), as sorted disjoint windows. */
export function subtract(range: Window, holes: readonly Window[]): Window[] {
  const out: Window[] = [];
  let at = range.start;
  for (const h of [...holes].sort((a, b) => a.start - b.start)) {
    if (h.end <= at) continue;
    if (h.start >= range.end) break;
    if (h.start > at) out.push({ start: at, end: h.start });
    at = Math.max(at, h.end);
  }
  if (at < range.end) out.push({ start: at, end: range.end });
  return out;
}

/**
 * The windows of each row's resource taken by reservations the caller cannot see: what
 * `available` says is not free, minus the caller's own bookings. `available` answers bare windows
 * (never whose or why) to any caller, so this shows that a slot is taken without saying by whom.
 * The rows of a pool are asked about in one call, each window naming its resource.
 */
export async function busyBlocks(
  client: Rsvp,
  rows: readonly Row[],
  range: Window,
  own: (resource: string) => Window[],
): Promise<Map<string, readonly Busy[]>> {
  const free = new Map<string, Window[]>();
  const pools = new Set<string>();
  const asks: Array<Promise<FreeWindow[]>> = [];
  for (const r of rows) {
    free.set(r.resource, []);
    if (!r.group) asks.push(freeWindows(client, r.resource, range));
    else if (!pools.has(r.group)) {
      pools.add(r.group);
      asks.push(freeWindows(client, "", range, 0, r.group));
    }
  }
  for (const w of (await Promise.all(asks)).flat()) free.get(w.resource)?.push(w);
  const out = new Map<string, readonly Busy[]>();
  for (const [resource, windows] of free) {
    const taken = subtract(range, windows);
    const hidden = taken.flatMap((w) => subtract(w, own(resource)));
    if (hidden.length)
      out.set(
        resource,
        hidden.map((w) => [w.start, w.end] as const),
      );
  }
  return out;
}
