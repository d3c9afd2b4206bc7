import { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import { bufferBlocks, markGroup } from "./bar-decor.js";
import { barName, barParts, barWindow } from "./bar-text.js";
import { type Booking, statusName } from "./booking.js";
import type { Buffers } from "./catalog-rows.js";
import { el } from "./dom.js";

/** A time range `[start, end)` in epoch milliseconds that someone else holds. */
export type Busy = readonly [number, number];

/** What a row shows. */
export interface RowContent {
  readonly busy: readonly Busy[];
  readonly bookings: readonly Booking[];
  /** The resource's buffers, drawn beside each live bar. */
  readonly buffers: Buffers;
  /** Sets a node's left and width for a window. */
  readonly place: (node: HTMLElement, start: number, end: number) => void;
  /** Bars say their day (a week view). */
  readonly withDay: boolean;
  readonly selected: string | undefined;
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
    block.setAttribute("aria-label", `${resource}, ${barWindow({ start, end })}, busy`);
    block.setAttribute("role", "img");
    lane.append(block);
  }
  for (const b of c.bookings) {
    if (b.status !== ReservationStatus.CANCELLED)
      lane.append(...bufferBlocks(b, c.buffers, c.place));
  }
  for (const b of c.bookings) lane.append(buildBar(b, c));
  row.append(label, lane);
  return row;
}

/**
 * A bar reads `10:00–11:00 bob` over its note; narrower ones drop the days of a long window, the
 * end time, then the user and note, then all text (CSS), rather than show a few cut letters:
 * the details panel says the rest.
 */
function buildBar(b: Booking, c: RowContent): HTMLButtonElement {
  const bar = el("button", `bar ${statusName(b.status)}`);
  bar.type = "button";
  bar.dataset.id = b.id;
  c.place(bar, b.start, b.end);
  const head = el("span", "bar-head");
  const time = el("span", "bar-time");
  const { day, start, end } = barParts(b);
  if (day) time.append(el("span", "bar-day", day));
  time.append(start, el("span", "bar-end", end));
  head.append(time, el("span", "bar-user", ` ${b.userId}`));
  bar.append(head);
  if (b.note) bar.append(el("span", "bar-note", b.note));
  const name = barName(b, c.withDay);
  bar.setAttribute("aria-label", b.groupId ? `${name}, part of a group` : name);
  if (b.groupId) markGroup(bar, head, b.groupId);
  if (b.note) bar.setAttribute("aria-description", b.note);
  if (b.id === c.selected) {
    bar.classList.add("selected");
    bar.setAttribute("aria-current", "true");
  }
  return bar;
}
