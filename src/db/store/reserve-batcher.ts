import { deadlineExceeded, resourceExhausted } from "../../domain/errors.js";
import type { Queryable } from "../engine/db.js";
import { isDatabaseTimeout, isDatabaseUnavailable } from "../engine/db-errors.js";
import { type ReserveOutcome, type ReserveRequest, reserveMany } from "./reservations.js";

/** Group-commit tuning and bounds. */
export interface ReserveBatcherOptions {
  /** Most requests in one statement. */
  readonly maxBatch?: number;
  /** Statements in flight at once; further requests queue and leave together. */
  readonly maxInFlight?: number;
  /** Most requests waiting to be sent; beyond it a request is RESOURCE_EXHAUSTED at once. */
  readonly maxQueued?: number;
}

/** The defaults: 4 × 64 requests in flight, a queue of 16 more full batches. */
export const RESERVE_BATCHER_DEFAULTS = { maxBatch: 64, maxInFlight: 4, maxQueued: 1024 } as const;

interface Pending {
  readonly input: ReserveRequest;
  readonly signal: AbortSignal | undefined;
  /** When its caller stops waiting (epoch ms), if it set a deadline. */
  readonly deadline: number | undefined;
  resolve(outcome: ReserveOutcome): void;
  reject(err: unknown): void;
}

const keyOf = (r: ReserveRequest) =>
  r.requestId === undefined ? undefined : `${r.userId}\u0000${r.requestId}`;

/**
 * Whether a failed batch may be one request's fault, so worth retrying one by one. An
 * outage or rsvp's own timeouts (overload) fail every request alike: retrying them would
 * only add load. A batch is one statement, so a failed one committed nothing.
 */
const mayBeOneRequest = (err: unknown) => !isDatabaseUnavailable(err) && !isDatabaseTimeout(err);

/**
 * Group commit for reserve: one transaction costs about the same for one row as for dozens,
 * and commits are what limit write throughput. A request goes out at once while fewer than
 * `maxInFlight` statements are running, so an idle service adds no latency; under load the
 * requests that arrive meanwhile leave together as one `rsvp.reserve` batch, each still
 * getting its own exact outcome.
 *
 * Bounded and deadline-aware: at most `maxQueued` requests wait (then RESOURCE_EXHAUSTED, so
 * overload is shed rather than queued without limit); a request whose signal aborts (its
 * deadline passed, its caller cancelled) before it is sent leaves the queue and is never
 * sent; one aborted after it was sent is answered at once, and its batch's statement is
 * cancelled once every request in it has aborted. A failed batch is retried request by
 * request, so one bad request fails alone.
 */
export function createReserveBatcher(db: Queryable, opts: ReserveBatcherOptions = {}) {
  const { maxBatch, maxInFlight, maxQueued } = { ...RESERVE_BATCHER_DEFAULTS, ...opts };
  let queue: Pending[] = [];
  let inFlight = 0;
  // How long a statement takes lately (ms, a moving average): how long the queue will wait.
  let statementMs = 0;

  /** The next batch: retries sharing an idempotency key wait for the next one, in order. */
  function take(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const keys = new Set<string>();
    const now = Date.now();
    for (const p of queue) {
      if (p.signal?.aborted) continue; // already answered, never sent
      // Past its deadline, though its timer has not fired yet (a busy event loop runs timers
      // late): never sent, so a caller told DEADLINE_EXCEEDED never finds it stored.
      if (p.deadline !== undefined && now >= p.deadline) {
        p.reject(deadlineExceeded());
        continue;
      }
      const key = keyOf(p.input);
      if (batch.length >= maxBatch || (key !== undefined && keys.has(key))) rest.push(p);
      else {
        if (key !== undefined) keys.add(key);
        batch.push(p);
      }
    }
    queue = rest;
    return batch;
  }

  /** A signal that aborts once every request of `batch` has aborted. */
  function allAborted(batch: readonly Pending[]): AbortSignal | undefined {
    const signals = batch.map((p) => p.signal);
    if (signals.some((s) => s === undefined)) return undefined;
    const all = new AbortController();
    let left = signals.length;
    for (const s of signals as AbortSignal[]) {
      s.addEventListener("abort", () => --left === 0 && all.abort(s.reason), { once: true });
    }
    return all.signal;
  }

  /**
   * Whether a request arriving now would still be waiting at `deadline`: the batches ahead of
   * it leave `maxInFlight` at a time, each taking about `statementMs`. Such a request is
   * refused at once, while the caller still has time to go elsewhere, instead of queueing
   * only to time out.
   */
  function hopeless(deadline: number | undefined): boolean {
    if (deadline === undefined || statementMs === 0 || inFlight < maxInFlight) return false;
    const rounds = Math.ceil((queue.length + 1) / (maxBatch * maxInFlight));
    return Date.now() + rounds * statementMs > deadline;
  }

  async function send(batch: Pending[]): Promise<void> {
    let outcomes: ReserveOutcome[];
    const started = Date.now();
    try {
      outcomes = await reserveMany(
        db,
        batch.map((p) => p.input),
        allAborted(batch),
      );
    } catch (err) {
      if (batch.length === 1 || !mayBeOneRequest(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      await Promise.all(batch.map((p) => send([p])));
      return;
    }
    statementMs =
      statementMs === 0 ? Date.now() - started : 0.8 * statementMs + 0.2 * (Date.now() - started);
    batch.forEach((p, i) => {
      const outcome = outcomes[i];
      if (outcome) p.resolve(outcome);
      else p.reject(new Error("reserve batch returned too few outcomes"));
    });
  }

  function flush() {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = take();
      if (batch.length === 0) break;
      inFlight++;
      void send(batch).finally(() => {
        inFlight--;
        flush();
      });
    }
  }

  return {
    /**
     * Reserves one window (of a resource, or of any one of a pool), batched with whatever
     * else is being reserved right now. `signal`
     * is the caller's: once it aborts, the promise rejects with its reason. `deadline` (epoch
     * ms) is when the caller stops waiting: a request still queued then is never sent, and
     * one that could not leave the queue before it is refused at once (RESOURCE_EXHAUSTED).
     */
    reserve(
      input: ReserveRequest,
      signal?: AbortSignal,
      deadline?: number,
    ): Promise<ReserveOutcome> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (queue.length >= maxQueued) {
        return Promise.reject(
          resourceExhausted(`too many reservations waiting (${maxQueued}): retry later`),
        );
      }
      if (hopeless(deadline)) {
        return Promise.reject(
          resourceExhausted("too busy to reserve within the call's deadline: retry later"),
        );
      }
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          queue = queue.filter((q) => q !== p);
          reject(signal?.reason);
        };
        const done = () => signal?.removeEventListener("abort", onAbort);
        const p: Pending = {
          input,
          signal,
          deadline,
          resolve: (o) => {
            done();
            resolve(o);
          },
          reject: (e) => {
            done();
            reject(e);
          },
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        queue.push(p);
        flush();
      });
    },
  };
}
