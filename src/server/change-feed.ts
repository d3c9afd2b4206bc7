import { pruneChanges, readChanges, safeHead } from "../db/changes.js";
import type { Db, Listening } from "../db/db.js";
import {
  type Change,
  type ChangeFilter,
  comparePositions,
  matchesFilter,
  type Position,
} from "../domain/change.js";
import { Code, RsvpError } from "../domain/errors.js";
import type { Logger } from "./logger.js";

/** Tuning of the change feed; the defaults suit production. */
export interface ChangeFeedOptions {
  readonly log: Logger;
  /** How long changes are kept for resuming listeners. */
  readonly retentionSeconds: number;
  /** A read even without a wake-up, in case one was lost; 0 turns it off. */
  readonly pollIntervalMs?: number;
  readonly pruneIntervalMs?: number;
  readonly pageSize?: number;
  /** Events buffered for a slow listener before it falls back to reading history itself. */
  readonly maxQueue?: number;
}

/** Every listener of one process shares one database LISTEN and one reader: this. */
export interface ChangeFeed {
  start(): Promise<void>;
  /**
   * The changes matching `filter` after `after` (or from now on), in order, each once, live
   * until `signal` aborts or the feed closes. A pruned `after` is OUT_OF_RANGE.
   */
  subscribe(
    filter: ChangeFilter,
    after: Position | undefined,
    signal: AbortSignal,
  ): AsyncIterable<Change>;
  /** Listeners open now. */
  readonly listeners: number;
  /** Milliseconds from the newest delivered change's commit to its delivery, last seen. */
  readonly lagMs: number;
  close(): Promise<void>;
}

interface Subscriber {
  pos: Position;
  readonly filter: ChangeFilter;
  readonly queue: Change[];
  /** Not fed live: it reads history from `pos` until it reaches the feed's head. */
  detached: boolean;
  wake: () => void;
}

export const gone = () =>
  new RsvpError(
    Code.OutOfRange,
    "cursor is older than the retained change history: query the current state, then listen from now on",
  );

/** Creates the change feed of one server process. */
export function createChangeFeed(db: Db, opts: ChangeFeedOptions): ChangeFeed {
  const { log } = opts;
  const pageSize = opts.pageSize ?? 500;
  const maxQueue = opts.maxQueue ?? 2000;
  const subs = new Set<Subscriber>();
  const timers: NodeJS.Timeout[] = [];
  let head: Position = { xid: 0n, seq: 0n };
  let listening: Listening | undefined;
  let pumping = false;
  let again = false;
  let closed = false;
  let retryMs = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let lagMs = 0;

  const retryLater = (ms: number) => {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(wake, ms);
  };

  function deliver(change: Change) {
    head = change.position;
    for (const sub of subs) {
      if (sub.detached || comparePositions(change.position, sub.pos) <= 0) continue;
      if (sub.queue.length >= maxQueue) {
        sub.detached = true; // it catches up from its own position, losing nothing
        continue;
      }
      sub.pos = change.position;
      if (matchesFilter(change, sub.filter)) {
        sub.queue.push(change);
        sub.wake();
      }
    }
  }

  async function pump() {
    do {
      again = false;
      for (;;) {
        const page = await readChanges(db, head, { limit: pageSize });
        if (page.gone) {
          // This process fell behind the retained history: its listeners cannot be made whole.
          log.error("change feed fell behind the retained history; ending its listeners");
          head = await safeHead(db);
          for (const sub of subs) sub.detached = true;
          break;
        }
        for (const change of page.changes) deliver(change);
        const last = page.changes.at(-1);
        if (last) lagMs = Math.max(0, Date.now() - Number(last.committedAt / 1000n));
        if (page.changes.length < pageSize) {
          // Committed changes behind an older open transaction: look again soon.
          retryMs = page.pending ? Math.min(Math.max(retryMs * 2, 2), 100) : 0;
          if (page.pending) retryLater(retryMs);
          break;
        }
      }
    } while (again && !closed);
  }

  function wake() {
    if (closed) return;
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

  async function catchUp(sub: Subscriber) {
    const upTo = head;
    if (comparePositions(sub.pos, upTo) >= 0) {
      sub.detached = false; // synchronously level with the head: live from here, no gap
      return;
    }
    const page = await readChanges(db, sub.pos, { limit: pageSize, upTo, filter: sub.filter });
    if (page.gone) throw gone();
    sub.queue.push(...page.changes);
    const last = page.changes.at(-1);
    sub.pos = page.changes.length < pageSize || !last ? upTo : last.position;
  }

  async function* subscribe(
    filter: ChangeFilter,
    after: Position | undefined,
    signal: AbortSignal,
  ) {
    if (after && (await readChanges(db, after, { limit: 1, upTo: after })).gone) throw gone();
    const sub: Subscriber = {
      pos: after ?? head,
      filter,
      queue: [],
      detached: after !== undefined,
      wake: () => {},
    };
    subs.add(sub);
    const onAbort = () => sub.wake();
    signal.addEventListener("abort", onAbort);
    try {
      while (!closed && !signal.aborted) {
        const next = sub.queue.shift();
        if (next) yield next;
        else if (sub.detached) await catchUp(sub);
        else
          await new Promise<void>((resolve) => {
            sub.wake = resolve;
          });
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      subs.delete(sub);
    }
  }

  return {
    async start() {
      head = await safeHead(db);
      listening = await db.listen("rsvp_changes", wake, wake);
      if (opts.pollIntervalMs) timers.push(setInterval(wake, opts.pollIntervalMs));
      const prune = () =>
        pruneChanges(db, opts.retentionSeconds).catch((err: unknown) =>
          log.warn({ err }, "pruning the change log failed"),
        );
      void prune();
      timers.push(setInterval(prune, opts.pruneIntervalMs ?? 60_000));
      for (const t of timers) t.unref();
    },
    subscribe,
    get listeners() {
      return subs.size;
    },
    get lagMs() {
      return lagMs;
    },
    async close() {
      closed = true;
      for (const t of timers) clearInterval(t);
      clearTimeout(retryTimer);
      for (const sub of subs) sub.wake();
      await listening?.unlisten().catch(() => {});
    },
  };
}
