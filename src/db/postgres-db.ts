import postgres from "postgres";
import type { Db, Queryable, Row } from "./db.js";

/** Pool and timeouts for the Postgres server mode. */
export interface PostgresOptions {
  readonly max?: number;
}

function wrap(sql: postgres.Sql | postgres.TransactionSql): Queryable {
  return {
    async query<T extends Row>(text: string, params: readonly unknown[] = []) {
      const rows = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      });
      return rows as unknown as T[];
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
  const sql = postgres(url, {
    max: options.max ?? 20,
    onnotice: () => {},
    connect_timeout: 10,
    types: { bigint: postgres.BigInt },
    connection: { application_name: "rsvp" },
  });
  return {
    kind: "postgres",
    description: `postgres (${redact(url)})`,
    ...wrap(sql),
    transaction: async (fn) =>
      (await sql.begin((tx) => fn(wrap(tx)))) as Awaited<ReturnType<typeof fn>>,
    async listen(channel, onNotify, onListen) {
      // postgres.js keeps a dedicated connection, reconnects it when it drops, and calls
      // onlisten again each time: changes notified in between are caught up there.
      const { unlisten } = await sql.listen(channel, () => onNotify(), onListen);
      return { unlisten };
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
