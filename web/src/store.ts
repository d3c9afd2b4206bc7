import { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import type { Booking } from "./booking.js";

/** A time range `[from, to)` in epoch milliseconds. */
export interface Range {
  readonly from: number;
  readonly to: number;
}

const overlaps = (b: Booking, r: Range) => b.start < r.to && b.end > r.from;

/** What changed: the resources whose rows need redrawing, and whether rows came or went. */
export type ChangeListener = (resources: ReadonlySet<string>, rowsChanged: boolean) => void;

const collator = new Intl.Collator(undefined, { numeric: true });

/**
 * The reservations overlapping the loaded range, indexed by resource, and every resource seen
 * (rows stay put while navigating). Query results and live changes race; each change is
 * stamped so a query begun before it cannot bring back an older state.
 */
export class Store {
  private readonly byId = new Map<string, Booking>();
  private readonly byResource = new Map<string, Map<string, Booking>>();
  private readonly seen = new Set<string>();
  private readonly touched = new Map<string, number>();
  private clock = 0;
  private sorted: string[] = [];
  private range: Range = { from: 0, to: 0 };
  private readonly listeners: ChangeListener[] = [];

  /** Calls `listener` after every change. */
  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** Every resource seen, in natural order (room-2 before room-10). */
  resources(): readonly string[] {
    return this.sorted;
  }

  /** The loaded reservations of one resource. */
  bookings(resourceId: string): Iterable<Booking> {
    return this.byResource.get(resourceId)?.values() ?? [];
  }

  /** Every loaded reservation. */
  all(): Iterable<Booking> {
    return this.byId.values();
  }

  get(id: string): Booking | undefined {
    return this.byId.get(id);
  }

  /** How many loaded reservations are live (and cancelled ones too, if asked). */
  count(withCancelled: boolean): number {
    let n = 0;
    for (const b of this.byId.values()) {
      if (withCancelled || b.status !== ReservationStatus.CANCELLED) n++;
    }
    return n;
  }

  /**
   * Starts loading `range`: live changes are kept for it from now on. Returns the stamp to pass
   * to `replace` with the query's answer.
   */
  begin(range: Range): number {
    this.range = range;
    return this.clock;
  }

  /** A reservation's newest state, from the live feed or an answer to this page's own call. */
  apply(b: Booking): void {
    this.touched.set(b.id, ++this.clock);
    const changed = new Set<string>();
    const prev = this.byId.get(b.id);
    if (prev) {
      this.remove(prev);
      changed.add(prev.resourceId);
    }
    if (overlaps(b, this.range)) {
      this.add(b);
      changed.add(b.resourceId);
    }
    this.emit(changed, this.see([b.resourceId]));
  }

  /** The answer to the query begun at `mark`: changes applied since then win. */
  replace(bookings: Iterable<Booking>, mark: number): void {
    const range = this.range;
    const newer = [...this.byId.values()].filter((b) => (this.touched.get(b.id) ?? 0) > mark);
    this.byId.clear();
    this.byResource.clear();
    for (const b of bookings) if ((this.touched.get(b.id) ?? 0) <= mark) this.add(b);
    for (const b of newer) if (overlaps(b, range)) this.add(b);
    for (const [id, stamp] of this.touched) if (stamp <= mark) this.touched.delete(id);
    this.see(this.byResource.keys());
    this.emit(new Set(this.seen), true);
  }

  private add(b: Booking) {
    this.byId.set(b.id, b);
    let row = this.byResource.get(b.resourceId);
    if (!row) {
      row = new Map();
      this.byResource.set(b.resourceId, row);
    }
    row.set(b.id, b);
  }

  private remove(b: Booking) {
    this.byId.delete(b.id);
    this.byResource.get(b.resourceId)?.delete(b.id);
  }

  private see(resources: Iterable<string>): boolean {
    const before = this.seen.size;
    for (const r of resources) this.seen.add(r);
    if (this.seen.size === before) return false;
    this.sorted = [...this.seen].sort(collator.compare);
    return true;
  }

  private emit(resources: ReadonlySet<string>, rowsChanged: boolean) {
    for (const listener of this.listeners) listener(resources, rowsChanged);
  }
}
