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
  const queue: Pending[] = [];
  let inFlight = 0;

  function flush() {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
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
