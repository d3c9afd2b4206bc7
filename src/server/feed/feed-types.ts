import type { Change, ChangeFilter, Position } from "../../domain/change.js";
import { Code, RsvpError } from "../../domain/errors.js";
import type { Logger } from "../logger.js";

/** Tuning of the change feed; the defaults suit production. */
export interface ChangeFeedOptions {
  readonly log: Logger;
  /** How long changes are kept for resuming listeners. */
  readonly retentionSeconds: number;
  /** A read even without a wake-up, in case one was lost; 0 turns it off. */
  readonly pollIntervalMs?: number;
  readonly pruneIntervalMs?: number;
  /** Rows pruned per short transaction. */
  readonly pruneBatch?: number;
  readonly pageSize?: number;
  /** Events buffered for a slow listener before it falls back to catching up by itself. */
  readonly maxQueue?: number;
  /** Recent changes kept in memory, so listeners that fell behind catch up without reads. */
  readonly recentChanges?: number;
  /** Delivery held back this long by an rsvp writer still in progress is logged as a warning. */
  readonly stallWarnMs?: number;
}

/** What a subscription yields: a change, or (when asked for) a fresher resume position. */
export type FeedItem =
  | { readonly kind: "change"; readonly change: Change }
  | { readonly kind: "bookmark"; readonly position: Position };

/** An open subscription: registered, so live from `start` on. */
export interface Subscription extends AsyncIterable<FeedItem> {
  /** Every matching change after this position is delivered, in order, once. */
  readonly start: Position;
}

/** Every listener of one process shares one database LISTEN and one reader: this. */
export interface ChangeFeed {
  start(): Promise<void>;
  /**
   * Registers a subscription for the changes matching `filter` after `after` (or from now on),
   * live until `signal` aborts or the feed closes. A pruned `after` is OUT_OF_RANGE; one past
   * the feed's horizon is INVALID_ARGUMENT. With `bookmarkMs`, a bookmark is yielded at once
   * and then whenever that long has passed and the subscription's position has moved.
   */
  open(
    filter: ChangeFilter,
    after: Position | undefined,
    opts: { signal: AbortSignal; bookmarkMs?: number | undefined },
  ): Promise<Subscription>;
  /** A position before any row read after it: listen from it misses nothing (list-then-watch). */
  position(): Promise<Position>;
  /** Listeners open now. */
  readonly listeners: number;
  /** Milliseconds from a change's commit to its delivery: the last seen, or rising while held. */
  readonly lagMs: number;
  close(): Promise<void>;
}

export const gone = () =>
  new RsvpError(
    Code.OutOfRange,
    "cursor is older than the retained change history: query the current state, then listen from the query's cursor",
  );
