import { bufferBlocks, markGroup } from "./bar-decor.js";
import { type BarText, fitBar, type Measure } from "./bar-fit.js";
import { barName, barParts, barWindow } from "./bar-text.js";
import { type Booking, occupies, statusName } from "./booking.js";
import type { Buffers } from "./catalog-rows.js";
import { el } from "./dom.js";
import { barTracks, fitUse, unitsLine, unitsMark, useBand, useWindows } from "./use-band.js";

/** A time range `[start, end)` in epoch milliseconds that someone else holds. */
export type Busy = readonly [number, number];

/** What a row shows. */
export interface RowContent {
  readonly busy: readonly Busy[];
  readonly bookings: readonly Booking[];
  /** The resource's buffers, drawn beside each live bar. */
  readonly buffers: Buffers;
  /** Units usable at once: above 1, a counted resource, whose row shows its use. */
  readonly capacity: number;
  /** Sets a node's left and width for a window. */
  readonly place: (node: HTMLElement, start: number, end: number) => void;
  /** Bars say their day (a week view). */
  readonly withDay: boolean;
  /**
   * The narrowest a bar is drawn, as time: a short booking stays visible, yet no wider than
   * the gap to the next one, so bars of one resource never cover each other.
   */
  readonly minMs: number;
  readonly selected: string | undefined;
  /** Says what a pressed block that is not a booking is (a buffer, a busy window). */
  readonly explain: (what: string) => void;
}

/** One resource's row: its label, then busy blocks, buffers and a bar (a button) per booking. */
export function buildRow(resource: string, c: RowContent): HTMLElement {
  const row = el("div", "row");
  row.dataset.resource = resource;
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", resource);
  const label = el("div", "label", resource);
  label.title = resource;
  const lane = el("div", "lane");
  for (const [start, end] of c.busy) {
    const block = el("div", "busy", "busy");
    c.place(block, start, end);
    const what = `${resource}, ${barWindow({ start, end })}, busy`;
    block.setAttribute("aria-label", what);
    block.title = what;
    block.addEventListener("click", () => c.explain(what));
    block.setAttribute("role", "img");
    lane.append(block);
  }
  for (const b of c.bookings) {
    if (occupies(b)) lane.append(...bufferBlocks(b, c.buffers, c.place, c.explain));
  }
  // A waiting reservation occupies nothing: drawn apart (see .bar.waiting), never in the way.
  const live = c.bookings.filter(occupies);
  // A counted resource's bookings may overlap: its bars take tracks, over its use.
  const counted = c.capacity > 1;
  const drawn = c.bookings.map((b) => {
    const wide = Math.max(b.end, b.start + c.minMs);
    // An exclusive row's short bar may reach over to the next booking's start, no further.
    if (counted) return { id: b.id, start: b.start, end: wide };
    const next = live.find((n) => n.start >= b.end && n.id !== b.id)?.start ?? Infinity;
    return { id: b.id, start: b.start, end: Math.min(wide, Math.max(b.end, next)) };
  });
  const tracks = counted ? barTracks(drawn) : undefined;
  if (tracks) {
    row.classList.add("counted");
    lane.style.setProperty("--tracks", String(tracks.count));
    lane.classList.toggle("stacked", tracks.count > 1);
    const windows = useWindows(live, c.capacity, c.buffers);
    lane.append(...useBand(resource, c.capacity, windows, c.place, c.explain));
  }
  c.bookings.forEach((b, i) => {
    const bar = buildBar(b, drawn[i]?.end ?? b.end, c);
    const track = tracks?.track.get(b.id);
    if (track !== undefined) bar.style.setProperty("--track", String(track));
    lane.append(bar);
  });
  row.append(label, lane);
  return row;
}

/** What each built bar says, to fit to its width (see {@link fitRow}). */
const texts = new WeakMap<HTMLElement, BarText>();

/**
 * Shows in each bar of `row` the fullest text that fits (see `fitBar`): `lanePx` is the lane's
 * width, `minPx` the narrowest a bar is drawn (its CSS min-width).
 */
export function fitRow(row: HTMLElement, lanePx: number, minPx: number, measure: Measure): void {
  fitUse(row, lanePx, measure);
  for (const bar of row.querySelectorAll<HTMLElement>(".bar")) {
    const text = texts.get(bar);
    if (!text) continue;
    const px = Math.max(minPx, (Number.parseFloat(bar.style.width) / 100) * lanePx);
    const { fit, note } = fitBar(text, px, measure);
    bar.dataset.fit = fit;
    bar.classList.toggle("without-note", !note);
  }
}

/**
 * A bar reads `10:00–11:00 bob` over its note; narrower ones drop the days of a long window, the
 * end time, then the user and note, then all text (see {@link fitRow}), rather than show a few
 * cut letters: its title and the details panel say the rest.
 */
function buildBar(b: Booking, drawnEnd: number, c: RowContent): HTMLButtonElement {
  const bar = el("button", `bar ${statusName(b.status)}`);
  bar.type = "button";
  bar.dataset.id = b.id;
  c.place(bar, b.start, drawnEnd);
  const head = el("span", "bar-head");
  const time = el("span", "bar-time");
  const { day, start, end } = barParts(b);
  if (day) time.append(el("span", "bar-day", day));
  time.append(start, el("span", "bar-end", end));
  const counted = c.capacity > 1;
  const user = counted ? ` ${b.userId}${unitsMark(b)}` : ` ${b.userId}`;
  head.append(time, el("span", "bar-user", user));
  bar.append(head);
  if (b.note) bar.append(el("span", "bar-note", b.note));
  texts.set(bar, { mark: b.groupId !== "", day, start, end, user: user.slice(1), note: b.note });
  const name = barName(b, c.withDay);
  bar.setAttribute("aria-label", b.groupId ? `${name}, part of a group` : name);
  // The whole description on hover, whatever the bar has room to show.
  const units = counted ? `\n${unitsLine(b, c.capacity)}` : "";
  bar.title = b.note ? `${name}${units}\n${b.note}` : `${name}${units}`;
  if (b.groupId) markGroup(bar, head, b.groupId);
  if (b.note) bar.setAttribute("aria-description", b.note);
  if (b.id === c.selected) {
    bar.classList.add("selected");
    bar.setAttribute("aria-current", "true");
  }
  return bar;
}
