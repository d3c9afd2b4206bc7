import {
  type Change,
  type ChangeFilter,
  comparePositions,
  matchesFilter,
  type Position,
} from "../../domain/change.js";

/**
 * The last changes the feed delivered, contiguous: every change after `base` up to the newest
 * one is here. A listener that fell behind catches up from memory when its position is inside
 * this window, so many slow listeners do not each read the database.
 */
export class RecentChanges {
  private changes: Change[] = [];
  /** Every change after this position (and up to the newest) is held. */
  private base: Position;

  constructor(
    private readonly capacity: number,
    start: Position,
  ) {
    this.base = start;
  }

  /** Starts over at `position`, empty (after the feed skipped ahead). */
  reset(position: Position): void {
    this.changes = [];
    this.base = position;
  }

  push(change: Change): void {
    this.changes.push(change);
    if (this.changes.length >= 2 * this.capacity) {
      const dropped = this.changes.splice(0, this.changes.length - this.capacity);
      const last = dropped.at(-1);
      if (last) this.base = last.position;
    }
  }

  /**
   * Up to `limit` changes matching `filter` after `after`, and the position read up to; or
   * undefined when `after` is older than what is held.
   */
  after(
    after: Position,
    filter: ChangeFilter,
    limit: number,
  ): { changes: Change[]; readTo: Position | undefined } | undefined {
    if (comparePositions(after, this.base) < 0) return undefined;
    // Binary search for the first change after `after`.
    let lo = 0;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.changes[mid];
      if (c && comparePositions(c.position, after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const found: Change[] = [];
    for (let i = lo; i < this.changes.length; i++) {
      const c = this.changes[i];
      if (!c) break;
      if (matchesFilter(c, filter)) {
        found.push(c);
        if (found.length === limit) return { changes: found, readTo: c.position };
      }
    }
    return { changes: found, readTo: undefined };
  }
}
