import { type PGlite, parse, protocol } from "@electric-sql/pglite";

const { serialize } = protocol;
type BackendMessage = Awaited<ReturnType<PGlite["execProtocolStream"]>>[number];

/** A statement prepared once in the session: its name, parameter types and result columns. */
interface Prepared {
  readonly name: string;
  readonly paramTypes: readonly number[];
  /** The RowDescription of its result; none when it returns no rows. */
  readonly columns: BackendMessage | undefined;
}

/** Postgres refuses to run a prepared statement whose result columns DDL has changed. */
const isStalePlan = (err: unknown) =>
  err instanceof Error &&
  (err as { code?: unknown }).code === "0A000" &&
  err.message.includes("cached plan must not change result type");

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Prepared statements for PGlite, which has none of its own: its `query` parses, describes
 * and plans the text on every call, in six passes into the engine. Here a statement's text is
 * parsed and described once per session under a name, then each call is one Bind, Execute
 * and Sync in a single pass, and Postgres's plan cache does the rest (re-planning by itself
 * after DDL or ANALYZE changes what a plan depends on). The least recently used statements
 * beyond `max` are closed.
 *
 * Every call runs under PGlite's own query lock, as its `query` does, and takes the same
 * parameter serializers and row parsers, so rows come back exactly as `query` returns them.
 */
export function createStatementCache(pg: PGlite, max = 256) {
  // Insertion order is recency order: a hit moves its entry to the end.
  const prepared = new Map<string, Prepared>();
  let seq = 0;

  const run = (parts: readonly Uint8Array[], syncToFs: boolean) =>
    pg.execProtocolStream(concat([...parts, serialize.sync()]), { syncToFs });

  async function prepare(text: string): Promise<Prepared> {
    const name = `rsvp_s${++seq}`;
    const messages = await run(
      [serialize.parse({ name, text }), serialize.describe({ type: "S", name })],
      false,
    );
    const entry: Prepared = {
      name,
      paramTypes: parse.parseDescribeStatementResults(messages),
      columns: messages.find((m) => m.name === "rowDescription"),
    };
    prepared.set(text, entry);
    const oldest = prepared.size > max ? prepared.entries().next().value : undefined;
    if (oldest) await forget(oldest[0], oldest[1]);
    return entry;
  }

  async function forget(text: string, entry: Prepared): Promise<void> {
    prepared.delete(text);
    await run([serialize.close({ type: "S", name: entry.name })], false);
  }

  async function execute(
    text: string,
    params: readonly unknown[],
    inTransaction: boolean,
  ): Promise<unknown[]> {
    let entry = prepared.get(text);
    if (entry) {
      prepared.delete(text);
      prepared.set(text, entry);
    } else entry = await prepare(text);
    // As PGlite's `query` serializes: by the parameter's type, else as text.
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const toText = pg.serializers[entry.paramTypes[i] ?? 0];
      return toText ? toText(v) : String(v);
    });
    const messages = await run(
      [serialize.bind({ statement: entry.name, values }), serialize.execute({})],
      !inTransaction,
    );
    const all = entry.columns ? [entry.columns, ...messages] : messages;
    return parse.parseResults(all, pg.parsers)[0]?.rows ?? [];
  }

  return {
    /**
     * Runs one parameterised statement, preparing it on first use. `inTransaction`: inside
     * an open transaction, whose commit writes it out (as PGlite's own `query` defers it).
     */
    query(text: string, params: readonly unknown[], inTransaction: boolean): Promise<unknown[]> {
      return pg._runExclusiveQuery(async () => {
        try {
          return await execute(text, params, inTransaction);
        } catch (err) {
          const stale = prepared.get(text);
          if (!isStalePlan(err) || !stale) throw err;
          // DDL changed its result columns. The statement did not run: outside a transaction
          // it runs again, prepared anew; inside one the transaction is already aborted.
          await forget(text, stale);
          if (inTransaction) throw err;
          return execute(text, params, inTransaction);
        }
      });
    },
    /** Closes every prepared statement: after a script (DDL), so none outlives what it read. */
    clear(): Promise<void> {
      return pg._runExclusiveQuery(async () => {
        for (const [text, entry] of [...prepared]) await forget(text, entry);
      });
    },
  };
}

/** The statement cache of one PGlite session. */
export type StatementCache = ReturnType<typeof createStatementCache>;
