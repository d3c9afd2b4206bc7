/** Delays that double after each failure, up to a ceiling, and start over after a success. */
export interface Backoff {
  /** The delay before the next attempt (ms); each call doubles the one after. */
  next(): number;
  /** After a success: the next delay is the first one again. */
  reset(): void;
}

/**
 * Exponential backoff with optional jitter (a random share of ±`jitter` of each delay, so
 * many clients that failed together do not retry together). The retry loops of the server,
 * the CLI and the web page share it. Libraries such as exponential-backoff wrap a whole
 * promise-returning call; these loops retry streams that run for hours between failures and
 * must start over after each success, so the delay sequence alone is what they need.
 */
export function createBackoff(opts: { firstMs: number; maxMs: number; jitter?: number }): Backoff {
  const jitter = opts.jitter ?? 0;
  let delay = opts.firstMs;
  return {
    next() {
      const current = delay;
      delay = Math.min(delay * 2, opts.maxMs);
      return Math.round(current * (1 - jitter + Math.random() * 2 * jitter));
    },
    reset() {
      delay = opts.firstMs;
    },
  };
}
