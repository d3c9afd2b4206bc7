import { el } from "./dom.js";
import { headText, type Slot } from "./timeline-layout.js";

/**
 * The pool headings of the timeline ("lot-b · 4 resources"), built like rows: only those in
 * the scroll viewport exist, each a heading for screen readers.
 */
export class PoolHeads {
  private readonly built = new Map<string, HTMLElement>();

  constructor(private readonly body: HTMLElement) {}

  /** Builds (or, when `rebuild`, rebuilds) the headings among slots `[first, last)`. */
  place(slots: readonly Slot[], first: number, last: number, h: number, rebuild: boolean): void {
    const shown = new Set<string>();
    for (let i = first; i < last; i++) {
      const slot = slots[i];
      if (slot?.kind !== "head") continue;
      shown.add(slot.group);
      let head = this.built.get(slot.group);
      if (!head || rebuild) {
        const fresh = el("div", "pool-head");
        fresh.dataset.pool = slot.group;
        const label = el("div", "label", headText(slot));
        label.setAttribute("role", "heading");
        label.setAttribute("aria-level", "3");
        fresh.append(label);
        if (head) head.replaceWith(fresh);
        else this.body.append(fresh);
        head = fresh;
        this.built.set(slot.group, head);
      }
      head.style.top = `${i * h}px`;
    }
    for (const [group, head] of this.built) {
      if (shown.has(group)) continue;
      head.remove();
      this.built.delete(group);
    }
  }
}
