import type { Db, Listening } from "../../db/engine/db.js";
import { feedHorizon, readChanges } from "../../db/store/changes.js";
import { type Change, comparePositions, type Position } from "../../domain/change.js";
import { invalidArgument } from "../../domain/errors.js";
import { createBackoff } from "../../shared/backoff.js";
import { type ChangeFeed, type ChangeFeedOptions, gone } from "./feed-types.js";
import { createStallWarning, pruneHistory } from "./feed-upkeep.js";
import { RecentChanges } from "./recent-changes.js";
import { type Subscriber, SubscriberIndex } from "./subscribers.js";
import { type FeedState, streamOf } from "./subscription-stream.js";

export type { ChangeFeed, ChangeFeedOptions, FeedItem, Subscription } from "./feed-types.js";

/** Creates the change feed of one server process. */
export function createChangeFeed(db: Db, opts: ChangeFeedOptions): ChangeFeed {
  const { log } = opts;
  const pageSize = opts.pageSize ?? 500;
  const maxQueue = opts.maxQueue ?? 2000;
  const live = new SubscriberIndex();
  const all = new Set<Subscriber>();
  const timers: NodeJS.Timeout[] = [];
  let head: Position = { xid: 0n, seq: 0n };
  const recent = new RecentChanges(opts.recentChanges ?? 10_000, head);
  let listening: Listening | undefined;
  let pumping = false;
  let again = false;
  let closed = false;
  // While changes wait behind an rsvp writer: look again soon, then less often.
  const recheck = createBackoff({ firstMs: 2, maxMs: 100 });
  let retryTimer: NodeJS.Timeout | undefined;
  let lagMs = 0;
  let skipping: Promise<void> | undefined;
  let waitingSince: bigint | undefined;
  const stall = createStallWarning(db, log, opts.stallWarnMs ?? 5000);

  const retryLater = (ms: number) => {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(wake, ms);
  };

  function detach(sub: Subscriber, at: Position) {
    live.delete(sub);
    sub.detached = true;
    sub.pos = at;
  }

  function deliver(change: Change) {
    const before = head;
    head = change.position;
    recent.push(change);
    live.forEachMatch(change, (sub) => {
      // A subscriber that started ahead of this process's reader already has this change.
      if (comparePositions(change.position, sub.pos) <= 0) return;
      // Full: it catches up from here by itself, losing nothing.
      if (sub.queue.length >= maxQueue) detach(sub, before);
      else {
        sub.queue.push(change);
        sub.wake();
      }
    });
  }

  async function pump() {
    do {
      again = false;
      for (;;) {
        const page = await readChanges(db, head, { limit: pageSize });
        if (page.gone) {
          // This process fell behind the retained history: its listeners cannot be made whole.
          log.error("change feed fell behind the retained history; ending its listeners");
          head = page.horizon;
          recent.reset(head);
          for (const sub of all) if (!sub.detached) detach(sub, { xid: 0n, seq: 0n });
          for (const sub of all) sub.wake();
          break;
        }
        for (const change of page.changes) deliver(change);
        const last = page.changes.at(-1);
        if (last) lagMs = Math.max(0, Date.now() - Number(last.committedAt / 1000n));
        if (page.changes.length < pageSize) {
          // Complete up to the horizon: nothing below it can still appear.
          if (comparePositions(page.horizon, head) > 0) head = page.horizon;
          waitingSince = page.waitingSince;
          // Committed changes wait behind an rsvp writer: look again soon (its commit also
          // notifies, but an abort does not).
          if (waitingSince === undefined) recheck.reset();
          else {
            retryLater(recheck.next());
            await stall.check(waitingSince);
          }
          break;
        }
      }
    } while (again && !closed);
  }

  function wake() {
    if (closed) return;
    if (all.size === 0) {
      // Nobody listens: reading would deliver to no one, and no one waits on what is held
      // back. The first subscriber moves the head (skipToNow).
      waitingSince = undefined;
      return;
    }
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    pump()
      .catch((err: unknown) => {
        log.warn({ err }, "change feed read failed; retrying");
        retryLater(250);
      })
      .finally(() => {
        pumping = false;
      });
  }

  /**
   * Moves an idle feed's head to the horizon now: nothing below it can still commit, and no one
   * listened while the feed stood still, so no one is owed what lies in between. Concurrent
   * first subscribers share one look.
   */
  function skipToNow(): Promise<void> {
    skipping ??= feedHorizon(db)
      .then((now) => {
        // A read still under way would move the head itself; never move it backwards.
        if (!pumping && comparePositions(now, head) > 0) {
          head = now;
          recent.reset(now);
        }
      })
      .finally(() => {
        skipping = undefined;
      });
    return skipping;
  }

  function forget(sub: Subscriber) {
    live.delete(sub);
    all.delete(sub);
  }

  const stream: FeedState = {
    db,
    pageSize,
    recent,
    head: () => head,
    closed: () => closed,
    goLive(sub) {
      sub.detached = false;
      live.add(sub);
    },
    forget,
  };

  return {
    async start() {
      head = (await readChanges(db, { xid: 0n, seq: 0n }, { limit: 0 })).horizon;
      recent.reset(head);
      listening = await db.listen("rsvp_changes", wake, wake);
      if (opts.pollIntervalMs) timers.push(setInterval(wake, opts.pollIntervalMs));
      const prune = () =>
        pruneHistory(db, opts, () => closed).catch((err: unknown) =>
          log.warn({ err }, "pruning the change log failed"),
        );
      void prune();
      timers.push(setInterval(prune, opts.pruneIntervalMs ?? 60_000));
      for (const t of timers) t.unref();
    },

    async open(filter, after, { signal, bookmarkMs }) {
      if (all.size === 0) await skipToNow();
      if (after) {
        const check = await readChanges(db, after, { limit: 1, upTo: after, signal });
        if (comparePositions(after, check.horizon) > 0) {
          throw invalidArgument("cursor points past the change feed's head");
        }
        if (check.gone) throw gone();
      }
      const start = after ?? head;
      const sub: Subscriber = {
        filter,
        queue: [],
        detached: after !== undefined,
        pos: start,
        wake: () => {},
      };
      all.add(sub);
      if (!sub.detached) live.add(sub);
      // A subscription dropped before it was iterated must not stay registered.
      signal.addEventListener("abort", () => forget(sub), { once: true });
      const items = streamOf(stream, sub, start, signal, bookmarkMs);
      wake(); // what committed while nobody listened, or since the head was taken
      return { start, [Symbol.asyncIterator]: () => items };
    },

    position: () => feedHorizon(db),

    get listeners() {
      return all.size;
    },
    get lagMs() {
      const held = waitingSince === undefined ? 0 : Date.now() - Number(waitingSince / 1000n);
      return Math.max(lagMs, held);
    },
    async close() {
      closed = true;
      for (const t of timers) clearInterval(t);
      clearTimeout(retryTimer);
      for (const sub of all) sub.wake();
      await listening?.unlisten().catch(() => {});
    },
  };
}
