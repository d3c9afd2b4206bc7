import { barWindow } from "./bar-text.js";
import type { Booking } from "./booking.js";
import type { Buffers } from "./catalog-rows.js";
import { el } from "./dom.js";

/**
 * The resource's buffers either side of a live bar: hatched blocks that are not bars (no focus,
 * no booking, no drag), each described for a screen reader and when pressed. They show why the slot next to a
 * booking cannot be taken.
 */
export function bufferBlocks(
  b: Booking,
  buffers: Buffers,
  place: (node: HTMLElement, start: number, end: number) => void,
  explain: (what: string) => void,
): HTMLElement[] {
  const out: HTMLElement[] = [];
  const block = (side: "before" | "after", start: number, end: number) => {
    const node = el("div", `buffer ${side}`);
    place(node, start, end);
    node.setAttribute("role", "img");
    const what = `${b.resourceId}, ${barWindow({ start, end })}, buffer kept free ${side} ${barWindow(b)}`;
    node.setAttribute("aria-label", what);
    node.title = what;
    // Pressing one says it too. A listener of its own also makes it a tap target, which a
    // phone then prefers to the bar beside it.
    node.addEventListener("click", () => explain(what));
    out.push(node);
  };
  if (buffers.before > 0) block("before", b.start - buffers.before, b.start);
  if (buffers.after > 0) block("after", b.end, b.end + buffers.after);
  return out;
}

/**
 * A colour of its own for each group (series), from its id: bars of one series share an outline,
 * and neighbouring series most likely differ. Violets and purples only (hues 255–315), which
 * no state, the "now" line or the selection use: a series never reads as cancelled or as an
 * error.
 */
export function groupColour(groupId: string): string {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (h * 31 + groupId.charCodeAt(i)) >>> 0;
  return `hsl(${255 + (h % 61)} ${50 + ((h >>> 8) % 25)}% ${34 + ((h >>> 16) % 12)}%)`;
}

/** Marks a bar as one of a group: a ↻ before its time and the group's outline colour. */
export function markGroup(bar: HTMLElement, head: HTMLElement, groupId: string): void {
  bar.classList.add("grouped");
  bar.dataset.group = groupId;
  bar.style.setProperty("--group", groupColour(groupId));
  const glyph = el("span", "group-mark", "↻");
  glyph.setAttribute("aria-hidden", "true");
  head.prepend(glyph);
}
