import type { Gauge } from "prom-client";
import type { Db, QueryOptions, Row } from "../../db/engine/db.js";

/**
 * The database with every query and transaction counted while it runs: the pool's usage, seen
 * from outside (postgres.js does not expose its pool). A transaction holds one connection for
 * its whole length, so it counts once, however many statements it runs.
 */
export function countedDb(db: Db, inFlight: Gauge): Db {
  const counted = async <T>(run: () => Promise<T>): Promise<T> => {
    inFlight.inc();
    try {
      return await run();
    } finally {
      inFlight.dec();
    }
  };
  return {
    ...db,
    query: <T extends Row = Row>(
      text: string,
      params?: readonly unknown[],
      options?: QueryOptions,
    ) => counted(() => db.query<T>(text, params, options)),
    exec: (text) => counted(() => db.exec(text)),
    transaction: (fn) => counted(() => db.transaction(fn)),
  };
}
