import postgres from "postgres";
import type { Db, Queryable, QueryOptions, Row } from "./db.js";
import { isStrayCancel } from "./db-errors.js";
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

/** postgres.js's state of a query (not in its typings): sent to the server, and running there. */
interface DriverQueryState {
  readonly state?: unknown;
  readonly active?: boolean;
}

/**
 * Asks Postgres to stop a statement, once it is the one its connection runs. postgres.js
 * pipelines statements on a connection, and cancelling one still queued behind another there
 * makes it hand each later statement's result to the statement after (the cancelled one never
 * settles): a reserve batch read another batch's rows. So a statement sent but not yet running
 * is cancelled when it starts; one not yet sent is dropped from the driver's queue.
 */
function cancelSafely(pending: PromiseLike<unknown> & { cancel(): unknown }): void {
  const query = pending as unknown as DriverQueryState;
  // Cancelling opens a connection of its own; when the server is unreachable that fails,
  // and the query itself fails anyway, so the cancel's own failure is nobody's to hear.
  const cancel = () => {
    Promise.resolve(pending.cancel()).catch(() => {});
  };
  if (query.state === undefined || query.active) {
    cancel();
    return;
  }
  const poll = setInterval(() => {
    if (query.active) {
      clearInterval(poll);
      cancel();
    }
  }, 5);
  const stop = () => clearInterval(poll);
  pending.then(stop, stop);
}

/**
 * Runs `attempt` again, once, when it failed with a cancel nobody asked for. Postgres cancels
 * whatever a backend is running when a cancel request arrives, so a cancel meant for a
 * statement that finished meanwhile lands on the next one that connection runs. A statement
 * (or transaction) that failed so committed nothing: running it again is safe.
 */
async function retryingStrayCancel<T>(attempt: () => Promise<T>, signal?: AbortSignal) {
  try {
    return await attempt();
  } catch (err) {
    if (!isStrayCancel(err) || signal?.aborted) throw err;
    return attempt();
  }
}

function wrap(sql: postgres.Sql | postgres.TransactionSql, inTransaction: boolean): Queryable {
  const run = async (text: string, params: readonly unknown[], signal?: AbortSignal) => {
    signal?.throwIfAborted();
    const pending = sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
      prepare: true,
    });
    const cancel = () => cancelSafely(pending);
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      return await pending;
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  };
  return {
    async query<T extends Row>(
      text: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ) {
      const { signal } = options;
      // Inside a transaction a failed statement has aborted it: the transaction is retried.
      const rows = inTransaction
        ? await run(text, params, signal)
        : await retryingStrayCancel(() => run(text, params, signal), signal);
      return rows as unknown as T[];
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
    // Seconds before a lost connection is opened again. postgres.js counts failures across the
    // whole pool and waits up to 20 s by default, so after a failover or restart statements
    // queued on such a connection sat idle past their callers' deadlines while the database
    // was already back (seen in the failover test: every call stalled for 30 s). Here the wait
    // stays under a second.
    backoff: (failures: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** failures, 1),
  };
  const sql = postgres(url, { ...settings, max: options.max ?? 20 });
  return {
    kind: "postgres",
    description: `postgres (${redactPostgresUrl(url)})`,
    ...wrap(sql, false),
    transaction: (fn) =>
      retryingStrayCancel(
        async () => (await sql.begin((tx) => fn(wrap(tx, true)))) as Awaited<ReturnType<typeof fn>>,
      ),
    listen: (channel, onNotify, onListen) =>
      listenReliably(url, settings, channel, onNotify, onListen),
    close: () => sql.end({ timeout: 5 }),
  };
}
