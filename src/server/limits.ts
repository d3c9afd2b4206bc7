import { RESERVE_BATCHER_DEFAULTS } from "../db/store/reserve-batcher.js";
import { ConfigError } from "../domain/config-error.js";
import { resourceExhausted } from "../domain/errors.js";

/** The largest request message either port accepts; larger ones get RESOURCE_EXHAUSTED. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Per-caller and per-connection bounds: beyond them a caller gets RESOURCE_EXHAUSTED. */
export interface Limits {
  /** Rows one `query` call may stream; `filter` pages are the way past it. */
  readonly maxQueryRows: number;
  /** `listen` streams one caller (token subject, or address without auth) may hold open. */
  readonly maxListensPerCaller: number;
  /** `listen` streams one remote address may hold open, whoever its callers are. */
  readonly maxListensPerPeer: number;
  /** Concurrent HTTP/2 streams per connection, on both ports. */
  readonly maxStreamsPerConnection: number;
  /**
   * Concurrent requests (HTTP/2 streams, HTTP/1.1 requests) of one remote address on each
   * port, over all its connections.
   */
  readonly maxStreamsPerPeer: number;
  /** Reserve requests waiting for the database, all callers together; beyond it they are shed. */
  readonly maxQueuedReserves: number;
}

/** Generous enough for a whole test or bench run, small enough to bound one caller. */
export const DEFAULT_LIMITS: Limits = {
  maxQueryRows: 100_000,
  maxListensPerCaller: 256,
  maxListensPerPeer: 1024,
  maxStreamsPerConnection: 1000,
  maxStreamsPerPeer: 2048,
  maxQueuedReserves: RESERVE_BATCHER_DEFAULTS.maxQueued,
};

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`${name} must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * The limits from RSVP_MAX_QUERY_ROWS, RSVP_MAX_LISTENS_PER_CALLER, RSVP_MAX_LISTENS_PER_PEER,
 * RSVP_MAX_STREAMS_PER_CONNECTION, RSVP_MAX_STREAMS_PER_PEER, RSVP_MAX_QUEUED_RESERVES.
 */
export function loadLimits(env: NodeJS.ProcessEnv): Limits {
  return {
    maxQueryRows: count(
      "RSVP_MAX_QUERY_ROWS",
      env.RSVP_MAX_QUERY_ROWS,
      DEFAULT_LIMITS.maxQueryRows,
    ),
    maxListensPerCaller: count(
      "RSVP_MAX_LISTENS_PER_CALLER",
      env.RSVP_MAX_LISTENS_PER_CALLER,
      DEFAULT_LIMITS.maxListensPerCaller,
    ),
    maxListensPerPeer: count(
      "RSVP_MAX_LISTENS_PER_PEER",
      env.RSVP_MAX_LISTENS_PER_PEER,
      DEFAULT_LIMITS.maxListensPerPeer,
    ),
    maxStreamsPerConnection: count(
      "RSVP_MAX_STREAMS_PER_CONNECTION",
      env.RSVP_MAX_STREAMS_PER_CONNECTION,
      DEFAULT_LIMITS.maxStreamsPerConnection,
    ),
    maxStreamsPerPeer: count(
      "RSVP_MAX_STREAMS_PER_PEER",
      env.RSVP_MAX_STREAMS_PER_PEER,
      DEFAULT_LIMITS.maxStreamsPerPeer,
    ),
    maxQueuedReserves: count(
      "RSVP_MAX_QUEUED_RESERVES",
      env.RSVP_MAX_QUEUED_RESERVES,
      DEFAULT_LIMITS.maxQueuedReserves,
    ),
  };
}

/** Counts open streams per key; at `max`, the next one is RESOURCE_EXHAUSTED. */
export interface StreamQuota {
  /** Takes a slot for `key` and returns the function that gives it back (call it once). */
  acquire(key: string): () => void;
}

/** A quota of `max` open `what` streams per key; `per` names the key in the refusal. */
export function createStreamQuota(max: number, what: string, per = "caller"): StreamQuota {
  const open = new Map<string, number>();
  return {
    acquire(key) {
      const n = open.get(key) ?? 0;
      if (n >= max)
        throw resourceExhausted(`too many open ${what} streams (at most ${max} per ${per})`);
      open.set(key, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(key) ?? 1) - 1;
        if (left > 0) open.set(key, left);
        else open.delete(key);
      };
    },
  };
}
