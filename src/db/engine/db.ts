/** A database row as the driver returns it. */
export type Row = Record<string, unknown>;

/** Per-statement options. */
export interface QueryOptions {
  /**
   * Cancels the statement when it aborts (a client's deadline or cancel): Postgres is asked
   * to stop it (SQLSTATE 57014); the embedded database, which cannot interrupt a running
   * statement, never starts one after the abort (one already waiting its turn included).
   */
  readonly signal?: AbortSignal | undefined;
}

/** What both backends offer to run SQL. Every query is parameterised. */
export interface Queryable {
  /**
   * Runs one parameterised statement and returns its rows. Parameters are scalars: pass a
   * collection as JSON text (`$1::text::jsonb`), which both backends read the same way.
   */
  query<T extends Row = Row>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

/** A subscription made with {@link Db.listen}. */
export interface Listening {
  unlisten(): Promise<void>;
}

/** A database handle: the embedded PGlite or a Postgres server. */
export interface Db extends Queryable {
  /** "embedded" (PGlite) or "postgres": for logs and for the few places that must know. */
  readonly kind: "embedded" | "postgres";
  /** Where it points, with any password removed: for the start-up line. */
  readonly description: string;
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * LISTENs on a channel. `onListen` runs once listening is established and again after every
   * reconnect: the place to catch up on whatever was notified while not listening.
   */
  listen(channel: string, onNotify: () => void, onListen: () => void): Promise<Listening>;
  close(): Promise<void>;
}
