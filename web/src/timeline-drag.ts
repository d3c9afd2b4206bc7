import { barWindow } from "./bar-text.js";
import { type Booking, occupies } from "./booking.js";
import { el } from "./dom.js";
import type { Timeline } from "./timeline.js";
import { placeOverAxis } from "./toast.js";

/** Drags snap to a quarter hour. */
const SNAP_MS = 15 * 60_000;
const HOUR_MS = 4 * SNAP_MS;
/** How close to a bar's end a press resizes rather than moves it. */
const EDGE_PX = 8;
/** How far a press travels before it is a drag rather than a click. */
const DRAG_PX = 5;

/** Why a reschedule failed, and a window to offer instead. */
export interface Clash {
  readonly message: string;
  readonly offer?: { readonly start: number; readonly end: number };
}

/** What the timeline asks of the page. */
export interface TimelineActions {
  /** Show a reservation's details. */
  open(id: string): void;
  /** Say what a block that is not a booking is (a buffer, a busy window). */
  explain(what: string): void;
  /** Show the day of `ms` (a tap on a phone's week view, where bars are too thin to tap). */
  day(ms: number): void;
  /** Start booking `[start, end)` of a resource. */
  book(resource: string, start: number, end: number): void;
  /** Move a reservation; resolves with the clash when the service refuses. */
  reschedule(b: Booking, start: number, end: number): Promise<Clash | undefined>;
}

type Mode = "create" | "move" | "start" | "end";

interface Drag {
  readonly mode: Mode;
  readonly resource: string;
  readonly lane: HTMLElement;
  readonly x0: number;
  readonly anchor: number;
  readonly booking: Booking | undefined;
  node: HTMLElement | undefined;
  started: boolean;
  start: number;
  end: number;
}

/** A phone's screen, where a week's bars are drawn to scale and a tap opens their day. */
const PHONE = matchMedia("(max-width: 700px)");

const snap = (ms: number) => Math.round(ms / SNAP_MS) * SNAP_MS;

/**
 * Mouse and pen on the timeline: press on an empty slot to book an hour there, or drag across
 * slots to book exactly them; drag a bar to move it, or its left or right edge to resize it.
 * Touch is left to scrolling (a tap still books a slot); on a phone a booking moves through its
 * details. A refused move snaps the bar back and says why next to it.
 */
export class TimelineDrag {
  private drag: Drag | undefined;
  private suppressClick = false;
  private bubble: HTMLElement | undefined;

  constructor(
    private readonly t: Timeline,
    private readonly actions: TimelineActions,
  ) {
    t.body.addEventListener("pointerdown", (e) => this.down(e));
    window.addEventListener("pointermove", (e) => this.move(e));
    window.addEventListener("pointerup", () => void this.up());
    window.addEventListener("pointercancel", () => this.cancel());
  }

  /** True once for the click that ends a drag, which must not also open the bar. */
  consumeClick(): boolean {
    const was = this.suppressClick;
    this.suppressClick = false;
    return was;
  }

  /** Says why a move was refused, over the time axis, with a button for the offered window. */
  showClash(b: Booking, clash: Clash): void {
    this.clearClash();
    this.t.redraw(b.resourceId);
    const bubble = el("div", "clash");
    bubble.setAttribute("role", "alert");
    bubble.append(el("span", "clash-text", clash.message));
    const { offer } = clash;
    if (offer) {
      const take = el("button", "", `Move to ${barWindow(offer)}`);
      take.type = "button";
      take.addEventListener("click", async () => {
        this.clearClash();
        const again = await this.actions.reschedule(b, offer.start, offer.end);
        if (again) this.showClash(b, again);
        else this.t.barEl(b.id)?.focus();
      });
      bubble.append(take);
    }
    const close = el("button", "close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => this.clearClash());
    bubble.append(close);
    // Over the time axis like a toast, not over the next row's bars.
    this.t.root.append(bubble);
    placeOverAxis(bubble);
    this.bubble = bubble;
  }

  clearClash(): void {
    this.bubble?.remove();
    this.bubble = undefined;
  }

  private timeAt(lane: HTMLElement, clientX: number): number {
    const r = lane.getBoundingClientRect();
    const { from, to } = this.t.view;
    return from + ((clientX - r.left) / r.width) * (to - from);
  }

  private down(e: PointerEvent) {
    this.suppressClick = false;
    if (e.button !== 0) return;
    const target = e.target as Element;
    if (target.closest(".clash, .busy, .buffer, .use, .pool-head")) return;
    const lane = target.closest<HTMLElement>(".lane");
    const resource = lane?.closest<HTMLElement>(".row")?.dataset.resource;
    if (!lane || resource === undefined) return;
    this.clearClash();
    const barEl = target.closest<HTMLElement>(".bar");
    const at = this.timeAt(lane, e.clientX);
    const base = { resource, lane, x0: e.clientX, anchor: at, started: false };
    if (!barEl) {
      this.drag = {
        ...base,
        mode: "create",
        booking: undefined,
        node: undefined,
        start: at,
        end: at,
      };
      return;
    }
    const b = this.t.store.get(barEl.dataset.id ?? "");
    // Touch drags scroll; cancelled and waiting reservations stay where they were.
    if (!b || !occupies(b) || e.pointerType === "touch") return;
    const r = barEl.getBoundingClientRect();
    const mode: Mode =
      e.clientX - r.left <= EDGE_PX ? "start" : r.right - e.clientX <= EDGE_PX ? "end" : "move";
    this.drag = { ...base, mode, booking: b, node: barEl, start: b.start, end: b.end };
  }

  private move(e: PointerEvent) {
    const d = this.drag;
    if (!d || (!d.started && Math.abs(e.clientX - d.x0) < DRAG_PX)) return;
    if (!d.started && e.pointerType === "touch") return; // a pan: pointercancel follows
    d.started = true;
    const at = this.timeAt(d.lane, e.clientX);
    const b = d.booking;
    if (!b) {
      const a = snap(d.anchor);
      const c = snap(at);
      d.start = Math.min(a, c);
      d.end = Math.max(Math.max(a, c), d.start + SNAP_MS);
      if (!d.node) {
        d.node = el("div", "ghost");
        d.lane.append(d.node);
      }
    } else {
      const dt = at - d.anchor;
      if (d.mode === "move") {
        d.start = snap(b.start + dt);
        d.end = d.start + (b.end - b.start);
      } else if (d.mode === "start") {
        d.start = Math.min(snap(b.start + dt), b.end - SNAP_MS);
      } else {
        d.end = Math.max(snap(b.end + dt), b.start + SNAP_MS);
      }
      d.node?.classList.add("dragging");
    }
    if (!d.node) return;
    this.t.place(d.node, d.start, d.end);
    d.node.dataset.window = barWindow(d);
  }

  private async up() {
    const d = this.drag;
    this.drag = undefined;
    if (!d) return;
    const b = d.booking;
    if (!d.started) {
      if (!b && this.t.view.zoom === "week" && PHONE.matches) {
        this.actions.day(d.anchor);
      } else if (!b) {
        // A click books the hour from the half hour it lands in.
        const start = Math.floor(d.anchor / (HOUR_MS / 2)) * (HOUR_MS / 2);
        this.actions.book(d.resource, start, start + HOUR_MS);
      }
      return;
    }
    this.suppressClick = true;
    if (!b) {
      d.node?.remove();
      this.actions.book(d.resource, d.start, d.end);
      return;
    }
    if (d.start === b.start && d.end === b.end) {
      this.t.redraw(d.resource);
      return;
    }
    d.node?.classList.add("saving");
    const clash = await this.actions.reschedule(b, d.start, d.end);
    if (clash) this.showClash(b, clash);
  }

  private cancel() {
    const d = this.drag;
    this.drag = undefined;
    if (!d) return;
    if (d.booking) this.t.redraw(d.resource);
    else d.node?.remove();
  }
}
