import "./use-band.css";
import { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import type { Measure } from "./bar-fit.js";
import { barWindow } from "./bar-text.js";
import type { Booking } from "./booking.js";
import type { Buffers } from "./catalog-rows.js";
import { el } from "./dom.js";

/** Units in use throughout `[start, end)`. */
export interface UseStep {
  readonly start: number;
  readonly end: number;
  readonly used: number;
}

/** A stretch of time in which some unit is in use throughout, step by step. */
export interface UseWindow {
  readonly start: number;
  readonly end: number;
  readonly steps: readonly UseStep[];
  /** The first of its busiest steps. */
  readonly peak: UseStep;
  /** The live bookings in it, by start. */
  readonly bookings: readonly Booking[];
}

/**
 * The use of a counted resource over time, as the service counts it: `live` bookings (those
 * that occupy it) by their windows widened by the buffers, a blocked one taking the whole
 * capacity. One sort of the start and end instants, however many bookings overlap.
 */
export function useWindows(
  live: readonly Booking[],
  capacity: number,
  buffers: Buffers,
): UseWindow[] {
  const delta = new Map<number, number>();
  const add = (t: number, d: number) => delta.set(t, (delta.get(t) ?? 0) + d);
  for (const b of live) {
    const units = b.status === ReservationStatus.BLOCKED ? capacity : b.quantity;
    add(b.start - buffers.before, units);
    add(b.end + buffers.after, -units);
  }
  const times = [...delta.keys()].sort((a, b) => a - b);
  const stretches: UseStep[][] = [];
  let used = 0;
  let open: UseStep[] | undefined;
  times.forEach((t, i) => {
    used += delta.get(t) ?? 0;
    const next = times[i + 1];
    if (used <= 0 || next === undefined) {
      open = undefined;
      return;
    }
    if (!open) {
      open = [];
      stretches.push(open);
    }
    open.push({ start: t, end: next, used });
  });
  return stretches.map((steps) => {
    const start = steps[0]?.start ?? 0;
    const end = steps[steps.length - 1]?.end ?? 0;
    const peak = steps.reduce((a, b) => (b.used > a.used ? b : a));
    const inside = live
      .filter((b) => b.start - buffers.before < end && b.end + buffers.after > start)
      .sort((a, b) => a.start - b.start);
    return { start, end, steps, peak, bookings: inside };
  });
}

/**
 * The track of each bar (by id, as drawn) in a counted row, so that no two bars of bookings
 * that overlap are drawn over each other: the first track free at its start, in start order.
 * And how many tracks there are.
 */
export function barTracks(bars: ReadonlyArray<{ id: string; start: number; end: number }>): {
  track: Map<string, number>;
  count: number;
} {
  const ends: number[] = [];
  const track = new Map<string, number>();
  for (const b of [...bars].sort((x, y) => x.start - y.start || x.end - y.end)) {
    let i = ends.findIndex((end) => end <= b.start);
    if (i < 0) i = ends.push(b.end) - 1;
    else ends[i] = b.end;
    track.set(b.id, i);
  }
  return { track, count: Math.max(1, ends.length) };
}

const units = (n: number) => `${n} ${n === 1 ? "unit" : "units"}`;

/** What pressing a stretch says: its busiest point, then who is in it. */
function details(resource: string, capacity: number, w: UseWindow): string {
  const full = w.peak.used >= capacity ? ", full" : "";
  const who = w.bookings
    .slice(0, 4)
    .map((b) => `${b.userId} ${barWindow(b)}${b.quantity > 1 ? ` ×${b.quantity}` : ""}`);
  const more = w.bookings.length > 4 ? ` and ${w.bookings.length - 4} more` : "";
  return (
    `${resource}, ${barWindow(w)}: at most ${w.peak.used} of ${capacity} in use` +
    ` (${barWindow(w.peak)}${full}). ${who.join("; ")}${more}.`
  );
}

/**
 * A counted resource's use under its bars: a step band whose height is the share of the
 * capacity in use (red where full), and per stretch of use a label such as `7 of 12` at its
 * busiest point, described for a screen reader and, when pressed, with who is in it.
 */
export function useBand(
  resource: string,
  capacity: number,
  windows: readonly UseWindow[],
  place: (node: HTMLElement, start: number, end: number) => void,
  explain: (what: string) => void,
): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (const w of windows) {
    let peak: HTMLElement | undefined;
    for (const s of w.steps) {
      const step = el("div", s.used >= capacity ? "use-step full" : "use-step");
      place(step, s.start, s.end);
      step.style.setProperty("--use", String(Math.min(1, s.used / capacity)));
      step.setAttribute("aria-hidden", "true");
      if (s === w.peak) peak = step;
      out.push(step);
    }
    const full = w.peak.used >= capacity;
    const node = el("div", full ? "use full" : "use");
    place(node, w.start, w.end);
    node.setAttribute("role", "img");
    const what = `${resource}, ${barWindow(w)}, at most ${w.peak.used} of ${capacity} in use (${barWindow(w.peak)})${full ? ", full" : ""}`;
    node.setAttribute("aria-label", what);
    node.title = `${what}\n${w.bookings.length} ${w.bookings.length === 1 ? "booking" : "bookings"}`;
    const label = el("span", "use-label", `${w.peak.used} of ${capacity}`);
    label.setAttribute("aria-hidden", "true");
    if (peak) peakAt.set(label, peak);
    node.append(label);
    node.addEventListener("click", () => explain(details(resource, capacity, w)));
    out.push(node);
  }
  return out;
}

/** The step each label stands at: its stretch's busiest. */
const peakAt = new WeakMap<HTMLElement, HTMLElement>();

/**
 * Places each `7 of 12` label of `row` at its stretch's busiest point, moved left as far as it
 * must to stay inside the stretch, or hides it when the stretch is narrower than the label
 * (its name, title and press still say it): never a few cut letters.
 */
export function fitUse(row: HTMLElement, lanePx: number, measure: Measure): void {
  for (const label of row.querySelectorAll<HTMLElement>(".use-label")) {
    const node = label.parentElement;
    const peak = peakAt.get(label);
    if (!node || !peak) continue;
    // Both are placed in percent of the lane, clipped to the view alike.
    const px = (Number.parseFloat(node.style.width) / 100) * lanePx;
    const at =
      ((Number.parseFloat(peak.style.left) - Number.parseFloat(node.style.left)) / 100) * lanePx;
    const need = measure(label.textContent ?? "", true) + 8;
    label.hidden = need > px;
    label.style.left = `${Math.max(0, Math.min(at, px - need))}px`;
  }
}

/** What a counted row's bar says after its user: `×7` for a booking of 7 units. */
export const unitsMark = (b: Booking): string => (b.quantity > 1 ? ` ×${b.quantity}` : "");

/** A counted row's bar's tooltip line: `7 units of 12`. */
export const unitsLine = (b: Booking, capacity: number): string =>
  `${units(b.quantity)} of ${capacity}`;
