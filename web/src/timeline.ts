import { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import { measureIn } from "./bar-fit.js";
import type { Booking } from "./booking.js";
import type { Buffers } from "./catalog-rows.js";
import { el } from "./dom.js";
import { PoolHeads } from "./pool-heads.js";
import type { RowModel } from "./rows.js";
import type { Store } from "./store.js";
import { TimelineAxis } from "./timeline-axis.js";
import { type TimelineActions, TimelineDrag } from "./timeline-drag.js";
import { TimelineKeys } from "./timeline-keys.js";
import { layoutRows, type Slot } from "./timeline-layout.js";
import { type Busy, buildRow, fitRow } from "./timeline-row.js";
import type { View } from "./view.js";

/** Rows built beyond the visible ones, so a short scroll shows no blank rows. */
const OVERSCAN = 4;

/**
 * The timeline: one row per resource, bars placed by percentage of the view so a resize needs
 * no redraw. Plain DOM rather than canvas keeps bars real buttons (focus, keyboard, easy to
 * test); the cost of the DOM is bounded by windowing: only the rows in the scroll viewport
 * (plus a few) exist, and a row is rebuilt only when its reservations change. The timeline is
 * one Tab stop: the active bar (roving tabindex), or the timeline itself when no bar is built.
 */
export class Timeline {
  view: View = { zoom: "day", from: 0, to: 1 };
  showCancelled = false;
  private selected: string | undefined;
  /** The bar that takes the timeline's Tab stop. */
  active: string | undefined;
  private busy = new Map<string, readonly Busy[]>();
  private readonly rowEls = new Map<string, HTMLElement>();
  private slots: Slot[] = [];
  private readonly dirty = new Set<string>();
  private allDirty = true;
  private frame = 0;
  /** The lane's width at the last render, and at the last fitting of bar text. */
  private lanePx = 0;
  private fittedPx = 0;
  private readonly axis = new TimelineAxis((node, start, end) => this.place(node, start, end));
  readonly body = el("div", "body");
  private readonly heads = new PoolHeads(this.body);
  private readonly empty = el("p", "empty", "No resources yet: add one under Resources, or book.");
  readonly keys: TimelineKeys;

  constructor(
    readonly root: HTMLElement,
    readonly store: Store,
    readonly rows: RowModel,
    private readonly actions: TimelineActions,
    private readonly buffers: (resource: string) => Buffers,
    private readonly capacity: (resource: string) => number,
  ) {
    const header = el("div", "axis");
    header.append(el("div", "label", "Resource"), this.axis.lane);
    this.body.append(this.axis.grid, this.empty);
    root.append(header, this.body);
    root.tabIndex = 0;
    root.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(root);
    this.body.addEventListener("click", (e) => {
      const id = (e.target as Element).closest<HTMLElement>(".bar")?.dataset.id;
      if (id && !this.drag.consumeClick()) actions.open(id);
    });
    this.drag = new TimelineDrag(this, actions);
    this.keys = new TimelineKeys(this, actions);
    window.setInterval(() => this.axis.placeNow(this.view), 30_000);
    store.subscribe((resources) => {
      for (const r of resources) this.dirty.add(r);
      this.schedule();
    });
    rows.subscribe(() => this.redrawAll());
  }

  /** Rebuilds every row (the catalog's buffers changed, or the rows did). */
  redrawAll(): void {
    this.allDirty = true;
    this.schedule();
  }

  private readonly drag: TimelineDrag;

  /** Shows another range, or cancelled reservations or not, `hourWidth` px an hour (0: fit). */
  setView(view: View, showCancelled: boolean, hourWidth: number): void {
    this.view = view;
    this.showCancelled = showCancelled;
    this.root.dataset.from = String(view.from);
    this.root.dataset.to = String(view.to);
    this.root.dataset.zoom = view.zoom;
    const hours = (view.to - view.from) / 3_600_000;
    const lane = hourWidth > 0 ? hours * hourWidth : 0;
    this.root.style.setProperty("--lane-min", `${lane}px`);
    this.axis.draw(view);
    this.allDirty = true;
    this.schedule();
  }

  /** Windows of each resource held by reservations the caller may not see. */
  setBusy(busy: Map<string, readonly Busy[]>): void {
    this.busy = busy;
    this.allDirty = true;
    this.schedule();
  }

  /** Highlights one reservation (or none), and makes it the timeline's Tab stop. */
  select(id: string | undefined): void {
    this.selected = id;
    if (id) this.active = id;
    for (const bar of this.body.querySelectorAll<HTMLElement>(".bar.selected")) {
      bar.classList.remove("selected");
      bar.removeAttribute("aria-current");
    }
    const bar = id ? this.barEl(id) : undefined;
    bar?.classList.add("selected");
    bar?.setAttribute("aria-current", "true");
    this.syncTabStop();
  }

  /** The built bar of a reservation, if its row is in view. */
  barEl(id: string): HTMLElement | undefined {
    return this.body.querySelector<HTMLElement>(`.bar[data-id="${CSS.escape(id)}"]`) ?? undefined;
  }

  /** The built row of a resource, if in view. */
  rowEl(resource: string): HTMLElement | undefined {
    return this.rowEls.get(resource);
  }

  /** The bookings a row shows, by start. */
  shown(resource: string): Booking[] {
    const out: Booking[] = [];
    for (const b of this.store.bookings(resource)) {
      if (b.end <= this.view.from || b.start >= this.view.to) continue;
      if (b.status === ReservationStatus.CANCELLED && !this.showCancelled) continue;
      out.push(b);
    }
    return out.sort((a, b) => a.start - b.start);
  }

  /**
   * Scrolls sideways to where the day's action is: an hour before now when now is in view,
   * else half an hour before the first booking shown.
   */
  scrollToAction(): void {
    const { from, to } = this.view;
    const now = Date.now();
    let at = now >= from && now < to ? now - 3_600_000 : Number.POSITIVE_INFINITY;
    if (at === Number.POSITIVE_INFINITY) {
      for (const row of this.rows.rows()) {
        for (const b of this.shown(row.resource)) at = Math.min(at, b.start - 1_800_000);
      }
    }
    if (!Number.isFinite(at)) at = from;
    const label = this.body.querySelector<HTMLElement>(".row .label")?.offsetWidth ?? 0;
    const lane = this.root.scrollWidth - label;
    this.root.scrollLeft = (Math.max(0, at - from) / (to - from)) * lane;
  }

  /** Rebuilds one row now (a bar dragged back to where the store has it). */
  redraw(resource: string): void {
    this.dirty.add(resource);
    this.render();
  }

  /** Scrolls a resource's row into view and builds it now. */
  reveal(resource: string): void {
    const index = layoutRows(this.rows.rows()).findIndex(
      (s) => s.kind === "row" && s.resource === resource,
    );
    if (index < 0) return;
    const h = this.rowHeight();
    const top = index * h;
    const head = h; // the sticky axis covers the first row's height
    if (top < this.root.scrollTop) this.root.scrollTop = top;
    else if (top + h > this.root.scrollTop + this.root.clientHeight - head) {
      this.root.scrollTop = top + h + head - this.root.clientHeight;
    }
    this.render();
  }

  /** `left` and `width` of a window as percentages of the lane. */
  place(node: HTMLElement, start: number, end: number): void {
    const { from, to } = this.view;
    const left = Math.max(start, from);
    const right = Math.min(end, to);
    node.style.left = `${((left - from) / (to - from)) * 100}%`;
    node.style.width = `${(Math.max(0, right - left) / (to - from)) * 100}%`;
  }

  rowHeight(): number {
    return Number.parseFloat(getComputedStyle(this.root).getPropertyValue("--row")) || 44;
  }

  private schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** The lane's width in pixels: the chosen hours' width, or the room beside the labels. */
  private laneWidth(): number {
    const style = getComputedStyle(this.root);
    const label = Number.parseFloat(style.getPropertyValue("--label")) || 0;
    const min = Number.parseFloat(style.getPropertyValue("--lane-min")) || 0;
    return Math.max(min, this.root.clientWidth - label);
  }

  private render() {
    if (this.allDirty) this.slots = layoutRows(this.rows.rows());
    this.lanePx = this.laneWidth();
    const refit = this.lanePx !== this.fittedPx;
    const fresh = new Set<HTMLElement>();
    const slots = this.slots;
    const h = this.rowHeight();
    this.body.style.height = `${slots.length * h}px`;
    const first = Math.max(0, Math.floor(this.root.scrollTop / h) - OVERSCAN);
    const last = Math.min(
      slots.length,
      Math.ceil((this.root.scrollTop + this.root.clientHeight) / h) + OVERSCAN,
    );
    const visible = new Set(
      slots.slice(first, last).map((s) => (s.kind === "row" ? s.resource : undefined)),
    );
    for (const [resource, row] of this.rowEls) {
      if (visible.has(resource)) continue;
      row.remove();
      this.rowEls.delete(resource);
    }
    this.heads.place(slots, first, last, h, this.allDirty);
    const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>(".bar");
    const refocus = focused && this.body.contains(focused) ? focused.dataset.id : undefined;
    for (let i = first; i < last; i++) {
      const slot = slots[i];
      if (slot?.kind !== "row") continue;
      const resource = slot.resource;
      let row = this.rowEls.get(resource);
      if (!row || this.allDirty || this.dirty.has(resource)) {
        const built = this.buildRow(resource);
        if (row) row.replaceWith(built);
        else this.body.append(built);
        row = built;
        this.rowEls.set(resource, row);
        fresh.add(row);
      }
      row.style.top = `${i * h}px`;
    }
    this.fit(refit ? new Set(this.rowEls.values()) : fresh);
    this.dirty.clear();
    this.allDirty = false;
    this.empty.hidden = slots.length > 0;
    this.syncTabStop();
    // Rebuilding a row must not drop the keyboard user's place.
    if (refocus && !this.body.contains(document.activeElement)) {
      const again = this.barEl(refocus);
      if (again) again.focus({ preventScroll: true });
      else this.root.focus({ preventScroll: true });
    }
    this.axis.placeNow(this.view);
  }

  /** Fits each bar's text of `rows` to its width (see `fitBar`): measured, never cut. */
  private fit(rows: ReadonlySet<HTMLElement>) {
    // A waiting strip is set smaller: measure in the font of the bars.
    const sample = this.body.querySelector<HTMLElement>(".bar:not(.waiting)");
    if (!sample || rows.size === 0) return;
    const style = getComputedStyle(sample);
    const measure = measureIn({ family: style.fontFamily, size: style.fontSize });
    const minPx = Number.parseFloat(style.minWidth) || 0;
    for (const row of rows) fitRow(row, this.lanePx, minPx, measure);
    this.fittedPx = this.lanePx;
  }

  /** Exactly one Tab stop: the active bar when built, else the timeline itself. */
  private syncTabStop() {
    let stop: HTMLElement | undefined;
    for (const bar of this.body.querySelectorAll<HTMLElement>(".bar")) {
      bar.tabIndex = -1;
      if (bar.dataset.id === this.active) stop = bar;
    }
    if (!stop && this.active === undefined) {
      stop = this.body.querySelector<HTMLElement>(".bar") ?? undefined;
      this.active = stop?.dataset.id;
    }
    if (stop) stop.tabIndex = 0;
    this.root.tabIndex = stop ? -1 : 0;
  }

  private buildRow(resource: string): HTMLElement {
    return buildRow(resource, {
      busy: this.busy.get(resource) ?? [],
      bookings: this.shown(resource),
      buffers: this.buffers(resource),
      capacity: this.capacity(resource),
      place: (node, start, end) => this.place(node, start, end),
      withDay: this.view.zoom === "week",
      // Two pixels, as time.
      minMs: this.lanePx > 0 ? (2 * (this.view.to - this.view.from)) / this.lanePx : 0,
      selected: this.selected,
      explain: (what) => this.actions.explain(what),
    });
  }
}
