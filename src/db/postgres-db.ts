import postgres from "postgres";
import type { Db, Queryable, QueryOptions, Row } from "./db.js";
import { listenReliably } from "./postgres-listener.js";

/** Pool and timeouts for the Postgres server mode. */
export interface PostgresOptions {
  readonly max?: number;
}

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

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres";
  }
}

/** Connects to a Postgres server (15 or newer) through a postgres.js pool. */
export function createPostgresDb(url: string, options: PostgresOptions = {}): Db {
  const settings = {
    onnotice: () => {},
    connect_timeout: 10,
    types: { bigint: postgres.BigInt },
    connection: { application_name: "rsvp" },
    // rsvp sends and reads no arrays. postgres.js fetches array types on each new connection
    // without awaiting it, so a connection lost during that fetch rejected unhandled (seen in
    // the outage test: "connect ECONNREFUSED … unhandledRejection").
    fetch_types: false,
  };
  const sql = postgres(url, { ...settings, max: options.max ?? 20 });
  return {
    kind: "postgres",
    description: `postgres (${redact(url)})`,
    ...wrap(sql),
    transaction: async (fn) =>
      (await sql.begin((tx) => fn(wrap(tx)))) as Awaited<ReturnType<typeof fn>>,
    listen: (channel, onNotify, onListen) =>
      listenReliably(url, settings, channel, onNotify, onListen),
    close: () => sql.end({ timeout: 5 }),
  };
}
