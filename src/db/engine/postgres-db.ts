import postgres from "postgres";
import type { Db, Queryable, QueryOptions, Row } from "./db.js";
import { listenReliably } from "./postgres-listener.js";
import { redactPostgresUrl } from "./postgres-url.js";

/** Pool and timeouts for the Postgres server mode. */
export interface PostgresOptions {
  /** Connections in the pool (default 20). */
  readonly max?: number;
  /** rsvp's sessions' `statement_timeout` (default 15 s); 0 turns it off. */
  readonly statementTimeoutMs?: number;
  /** rsvp's sessions' `lock_timeout` (default 5 s); 0 turns it off. */
  readonly lockTimeoutMs?: number;
}

/** The timeouts' defaults: far above any statement rsvp runs, far below "forever". */
export const POSTGRES_DEFAULTS = { statementTimeoutMs: 15_000, lockTimeoutMs: 5_000 } as const;

function wrap(sql: postgres.Sql | postgres.TransactionSql): Queryable {
  return {
    async query<T extends Row>(
      text: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ) {
      const { signal } = options;
      signal?.throwIfAborted();
      const pending = sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      });
      // Cancelling opens a connection of its own; when the server is unreachable that fails,
      // and the query itself fails anyway, so the cancel's own failure is nobody's to hear.
      const cancel = () => {
        Promise.resolve(pending.cancel()).catch(() => {});
      };
      signal?.addEventListener("abort", cancel, { once: true });
      try {
        return (await pending) as unknown as T[];
      } finally {
        signal?.removeEventListener("abort", cancel);
      }
    },
    async exec(text: string) {
      await sql.unsafe(text);
    },
  };
}

/** Connects to a Postgres server (15 or newer) through a postgres.js pool. */
export function createPostgresDb(url: string, options: PostgresOptions = {}): Db {
  const settings = {
    onnotice: () => {},
    connect_timeout: 10,
    types: { bigint: postgres.BigInt },
    // Every session of rsvp's, the listener's included: no statement, nor wait for a lock,
    // runs on without bound when the database is overloaded or a lock is held too long.
    connection: {
      application_name: "rsvp",
      statement_timeout: options.statementTimeoutMs ?? POSTGRES_DEFAULTS.statementTimeoutMs,
      lock_timeout: options.lockTimeoutMs ?? POSTGRES_DEFAULTS.lockTimeoutMs,
    },
    // rsvp sends and reads no arrays. postgres.js fetches array types on each new connection
    // without awaiting it, so a connection lost during that fetch rejected unhandled (seen in
    // the outage test: "connect ECONNREFUSED … unhandledRejection").
    fetch_types: false,
  };
  const sql = postgres(url, { ...settings, max: options.max ?? 20 });
  return {
    kind: "postgres",
    description: `postgres (${redactPostgresUrl(url)})`,
    ...wrap(sql),
    transaction: async (fn) =>
      (await sql.begin((tx) => fn(wrap(tx)))) as Awaited<ReturnType<typeof fn>>,
    listen: (channel, onNotify, onListen) =>
      listenReliably(url, settings, channel, onNotify, onListen),
    close: () => sql.end({ timeout: 5 }),
  };
}
