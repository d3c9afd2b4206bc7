import { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import { type Booking, statusName } from "./booking.js";
import { formatWindow } from "./format.js";
import type { Store } from "./store.js";
import { ticks, type View } from "./view.js";

const ROW_HEIGHT = 32;
/** Rows built beyond the visible ones, so a short scroll shows no blank rows. */
const OVERSCAN = 4;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = "") {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

/**
 * The timeline: one row per resource, bars placed by percentage of the view so a resize needs
 * no redraw. Plain DOM rather than canvas keeps bars real buttons (focus, keyboard, native
 * tooltips, easy to test); the cost of the DOM is bounded by windowing: only the rows in the
 * scroll viewport (plus a few) exist, and a row is rebuilt only when its reservations change.
 */
export class Timeline {
  private view: View;
  private showCancelled = false;
  private selected: string | undefined;
  private readonly rows = new Map<string, HTMLElement>();
  private readonly dirty = new Set<string>();
  private allDirty = true;
  private frame = 0;
  private readonly axis = el("div", "axis-lane");
  private readonly body = el("div", "body");
  private readonly grid = el("div", "grid");
  private readonly now = el("div", "now");
  private readonly empty = el("p", "empty", "No reservations here yet: reserve one with the form.");

  constructor(
    private readonly root: HTMLElement,
    private readonly store: Store,
    onSelect: (id: string) => void,
  ) {
    this.view = { zoom: "day", from: 0, to: 1 };
    const header = el("div", "axis");
    header.append(el("div", "label", "Resource"), this.axis);
    this.body.append(this.grid, this.empty);
    root.append(header, this.body);
    root.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(root);
    this.body.addEventListener("click", (e) => {
      const id = (e.target as Element).closest<HTMLElement>(".bar")?.dataset.id;
      if (id) onSelect(id);
    });
    window.setInterval(() => this.placeNow(), 30_000);
    store.subscribe((resources) => {
      for (const r of resources) this.dirty.add(r);
      this.schedule();
    });
  }

  /** Shows another range, or cancelled reservations or not: every row is redrawn. */
  setView(view: View, showCancelled: boolean): void {
    this.view = view;
    this.showCancelled = showCancelled;
    this.root.dataset.from = String(view.from);
    this.root.dataset.to = String(view.to);
    this.drawAxis();
    this.allDirty = true;
    this.schedule();
  }

  /** Highlights one reservation (or none). */
  select(id: string | undefined): void {
    this.selected = id;
    for (const bar of this.body.querySelectorAll<HTMLElement>(".bar.selected")) {
      bar.classList.remove("selected");
    }
    if (id) this.body.querySelector(`.bar[data-id="${CSS.escape(id)}"]`)?.classList.add("selected");
  }

  private schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render() {
    const resources = this.store.resources();
    this.body.style.height = `${resources.length * ROW_HEIGHT}px`;
    const first = Math.max(0, Math.floor(this.root.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(
      resources.length,
      Math.ceil((this.root.scrollTop + this.root.clientHeight) / ROW_HEIGHT) + OVERSCAN,
    );
    const visible = new Set(resources.slice(first, last));
    for (const [resource, row] of this.rows) {
      if (visible.has(resource)) continue;
      row.remove();
      this.rows.delete(resource);
    }
    for (let i = first; i < last; i++) {
      const resource = resources[i];
      if (resource === undefined) continue;
      let row = this.rows.get(resource);
      if (!row || this.allDirty || this.dirty.has(resource)) {
        const fresh = this.buildRow(resource);
        if (row) row.replaceWith(fresh);
        else this.body.append(fresh);
        row = fresh;
        this.rows.set(resource, row);
      }
      row.style.top = `${i * ROW_HEIGHT}px`;
    }
    this.dirty.clear();
    this.allDirty = false;
    this.empty.hidden = resources.length > 0;
    this.placeNow();
  }

  private buildRow(resource: string): HTMLElement {
    const row = el("div", "row");
    row.dataset.resource = resource;
    const label = el("div", "label", resource);
    label.title = resource;
    const lane = el("div", "lane");
    for (const b of this.store.bookings(resource)) {
      if (b.end <= this.view.from || b.start >= this.view.to) continue;
      if (b.status === ReservationStatus.CANCELLED && !this.showCancelled) continue;
      lane.append(this.buildBar(b));
    }
    row.append(label, lane);
    return row;
  }

  private buildBar(b: Booking): HTMLButtonElement {
    const { from, to } = this.view;
    const left = Math.max(b.start, from);
    const right = Math.min(b.end, to);
    const bar = el("button", `bar ${statusName(b.status)}`, b.userId);
    bar.type = "button";
    bar.dataset.id = b.id;
    bar.style.left = `${((left - from) / (to - from)) * 100}%`;
    bar.style.width = `${((right - left) / (to - from)) * 100}%`;
    bar.title = [`${b.userId} · ${statusName(b.status)}`, formatWindow(b.start, b.end), b.note]
      .filter(Boolean)
      .join("\n");
    if (b.id === this.selected) bar.classList.add("selected");
    return bar;
  }

  private drawAxis() {
    const span = this.view.to - this.view.from;
    const pct = (at: number) => `${((at - this.view.from) / span) * 100}%`;
    this.axis.replaceChildren();
    const lines: HTMLElement[] = [];
    for (const tick of ticks(this.view)) {
      const line = el("div", tick.label ? "tick major" : "tick");
      line.style.left = pct(tick.at);
      lines.push(line);
      if (!tick.label) continue;
      const text = el("span", "tick-label", tick.label);
      text.style.left = pct(tick.at);
      this.axis.append(text);
    }
    this.grid.replaceChildren(...lines, this.now);
  }

  /** The red line at the current time, when it is in view. */
  private placeNow() {
    const t = Date.now();
    const inView = t >= this.view.from && t < this.view.to;
    this.now.hidden = !inView;
    if (inView) {
      this.now.style.left = `${((t - this.view.from) / (this.view.to - this.view.from)) * 100}%`;
    }
  }
}
