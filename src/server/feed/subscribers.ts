import type { Change, ChangeFilter, Position } from "../../domain/change.js";

/** One listener of the feed. */
export interface Subscriber {
  readonly filter: ChangeFilter;
  /** Changes queued for it, oldest first. */
  readonly queue: Change[];
  /**
   * Not fed live: it reads history after `pos` until it reaches the feed's head. A live
   * subscriber has every matching change up to the head in its queue or already taken.
   */
  detached: boolean;
  /** While detached: every matching change up to here has been queued. */
  pos: Position;
  /** Resolves the subscriber's pending wait, if any. */
  wake: () => void;
}

/**
 * The live subscribers, indexed by what they filter on, so the work per change follows the
 * listeners it matches rather than every listener of the process.
 */
export class SubscriberIndex {
  private readonly unfiltered = new Set<Subscriber>();
  private readonly byResource = new Map<string, Set<Subscriber>>();
  private readonly byUser = new Map<string, Set<Subscriber>>();
  private count = 0;

  /** How many subscribers are indexed (live). */
  get size(): number {
    return this.count;
  }

  add(sub: Subscriber): void {
    const bucket = this.bucketOf(sub, true);
    if (bucket && !bucket.has(sub)) {
      bucket.add(sub);
      this.count++;
    }
  }

  delete(sub: Subscriber): void {
    const bucket = this.bucketOf(sub, false);
    if (bucket?.delete(sub)) {
      this.count--;
      const { resourceId, userId } = sub.filter;
      if (bucket.size === 0 && resourceId !== undefined) this.byResource.delete(resourceId);
      else if (bucket.size === 0 && userId !== undefined) this.byUser.delete(userId);
    }
  }

  /** Calls `fn` for each live subscriber whose filter the change passes. */
  forEachMatch(change: Change, fn: (sub: Subscriber) => void): void {
    const r = change.reservation;
    for (const sub of this.unfiltered) fn(sub);
    const byResource = this.byResource.get(r.resourceId);
    if (byResource) {
      for (const sub of byResource) {
        // Indexed by resource; a user filter besides it is checked here.
        if (sub.filter.userId === undefined || sub.filter.userId === r.userId) fn(sub);
      }
    }
    const byUser = this.byUser.get(r.userId);
    if (byUser) for (const sub of byUser) fn(sub);
  }

  /** Every live subscriber. */
  *all(): Iterable<Subscriber> {
    yield* this.unfiltered;
    for (const set of this.byResource.values()) yield* set;
    for (const set of this.byUser.values()) yield* set;
  }

  private bucketOf(sub: Subscriber, create: boolean): Set<Subscriber> | undefined {
    const { resourceId, userId } = sub.filter;
    const [map, key] =
      resourceId !== undefined
        ? [this.byResource, resourceId]
        : userId !== undefined
          ? [this.byUser, userId]
          : [undefined, ""];
    if (!map) return this.unfiltered;
    let set = map.get(key);
    if (!set && create) {
      set = new Set();
      map.set(key, set);
    }
    return set;
  }
}
