import type { Rsvp } from "./api.js";
import { freeWindows, type Window } from "./free-slots.js";
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
 * The windows of each resource taken by reservations the caller cannot see: what `available`
 * says is not free, minus the caller's own bookings. `available` answers bare windows (never
 * whose or why) to any caller, so this shows that a slot is taken without saying by whom.
 */
export async function busyBlocks(
  client: Rsvp,
  resources: readonly string[],
  range: Window,
  own: (resource: string) => Window[],
): Promise<Map<string, readonly Busy[]>> {
  const out = new Map<string, readonly Busy[]>();
  await Promise.all(
    resources.map(async (resource) => {
      const taken = subtract(range, await freeWindows(client, resource, range));
      const hidden = taken.flatMap((w) => subtract(w, own(resource)));
      if (hidden.length)
        out.set(
          resource,
          hidden.map((w) => [w.start, w.end] as const),
        );
    }),
  );
  return out;
}
