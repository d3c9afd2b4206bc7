import type { NewReservation } from "../domain/reservation.js";
import type { Queryable } from "./db.js";
import { type ReserveOutcome, reserveMany } from "./reservations.js";

/** Group-commit tuning. */
export interface ReserveBatcherOptions {
  /** Most requests in one statement. */
  readonly maxBatch?: number;
  /** Statements in flight at once; further requests queue and leave together. */
  readonly maxInFlight?: number;
}

interface Pending {
  readonly input: NewReservation;
  resolve(outcome: ReserveOutcome): void;
  reject(err: unknown): void;
}

const keyOf = (r: NewReservation) =>
  r.requestId === undefined ? undefined : `${r.userId}\u0000${r.requestId}`;

/**
 * Group commit for reserve: one transaction costs about the same for one row as for dozens,
 * and commits are what limit write throughput. A request goes out at once while fewer than
 * `maxInFlight` statements are running, so an idle service adds no latency; under load the
 * requests that arrive meanwhile leave together as one `rsvp.reserve` batch, each still
 * getting its own exact outcome.
 */
export function createReserveBatcher(db: Queryable, opts: ReserveBatcherOptions = {}) {
  const maxBatch = opts.maxBatch ?? 64;
  const maxInFlight = opts.maxInFlight ?? 4;
  let queue: Pending[] = [];
  let inFlight = 0;

  /** The next batch: retries sharing an idempotency key wait for the next one, in order. */
  function take(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const keys = new Set<string>();
    for (const p of queue) {
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

  function flush() {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = take();
      inFlight++;
      reserveMany(
        db,
        batch.map((p) => p.input),
      )
        .then(
          (outcomes) => {
            batch.forEach((p, i) => {
              const outcome = outcomes[i];
              if (outcome) p.resolve(outcome);
              else p.reject(new Error("reserve batch returned too few outcomes"));
            });
          },
          (err: unknown) => {
            for (const p of batch) p.reject(err);
          },
        )
        .finally(() => {
          inFlight--;
          flush();
        });
    }
  }

  return {
    /** Reserves one window, batched with whatever else is being reserved right now. */
    reserve(input: NewReservation): Promise<ReserveOutcome> {
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject });
        flush();
      });
    },
  };
}
