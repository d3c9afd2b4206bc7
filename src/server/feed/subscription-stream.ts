import type { Queryable } from "../../db/engine/db.js";
import { readChanges } from "../../db/store/changes.js";
import { comparePositions, type Position } from "../../domain/change.js";
import { type FeedItem, gone } from "./feed-types.js";
import type { RecentChanges } from "./recent-changes.js";
import type { Subscriber } from "./subscribers.js";

/** What a subscription's stream reads of the feed that serves it. */
export interface FeedState {
  readonly db: Queryable;
  readonly pageSize: number;
  readonly recent: RecentChanges;
  /** Every change up to here has been delivered to the live subscribers. */
  head(): Position;
  closed(): boolean;
  /** Feeds a detached subscriber live again: it is level with the head. */
  goLive(sub: Subscriber): void;
  /** Drops a subscriber whose stream ended. */
  forget(sub: Subscriber): void;
}

/** Brings a detached subscriber's queue closer to the head, from memory when it can. */
async function catchUp(feed: FeedState, sub: Subscriber, signal: AbortSignal) {
  const upTo = feed.head();
  if (comparePositions(sub.pos, upTo) >= 0) {
    feed.goLive(sub); // synchronously level with the head: live from here, no gap
    return;
  }
  const held = feed.recent.after(sub.pos, sub.filter, feed.pageSize);
  if (held) {
    sub.queue.push(...held.changes);
    sub.pos = held.readTo ?? upTo;
    return;
  }
  const page = await readChanges(feed.db, sub.pos, {
    limit: feed.pageSize,
    upTo,
    filter: sub.filter,
    signal,
  });
  if (page.gone) throw gone();
  sub.queue.push(...page.changes);
  const last = page.changes.at(-1);
  sub.pos = page.changes.length < feed.pageSize || !last ? upTo : last.position;
}

/**
 * A subscription's items: its queued changes, history while it is detached (from memory when
 * the feed still holds it, else from the database) until it is level with the head and live
 * again, and bookmarks when asked for. Ends when `signal` aborts or the feed closes.
 */
export async function* streamOf(
  feed: FeedState,
  sub: Subscriber,
  start: Position,
  signal: AbortSignal,
  bookmarkMs: number | undefined,
): AsyncGenerator<FeedItem> {
  let sent = start;
  let tick: NodeJS.Timeout | undefined;
  const onAbort = () => sub.wake();
  signal.addEventListener("abort", onAbort);
  try {
    let due = false;
    if (bookmarkMs !== undefined) {
      yield { kind: "bookmark", position: start };
      tick = setInterval(() => {
        due = true;
        sub.wake();
      }, bookmarkMs);
    }
    while (!feed.closed() && !signal.aborted) {
      const next = sub.queue.shift();
      if (next) {
        sent = next.position;
        yield { kind: "change", change: next };
        continue;
      }
      if (sub.detached) {
        await catchUp(feed, sub, signal);
        continue;
      }
      if (due) {
        due = false;
        // Live with an empty queue: every matching change up to the head was sent.
        if (comparePositions(feed.head(), sent) > 0) {
          sent = feed.head();
          yield { kind: "bookmark", position: sent };
          continue;
        }
      }
      await new Promise<void>((resolve) => {
        sub.wake = resolve;
      });
    }
  } finally {
    clearInterval(tick);
    signal.removeEventListener("abort", onAbort);
    feed.forget(sub);
  }
}
