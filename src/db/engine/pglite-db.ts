import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import { lockDataDir } from "./data-dir-lock.js";
import type { Db, Queryable, QueryOptions, Row } from "./db.js";

function wrap(q: Pick<PGlite, "query" | "exec">): Queryable {
  return {
    async query<T extends Row>(
      text: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ) {
      options.signal?.throwIfAborted();
      const result = await q.query<T>(text, params as unknown[]);
      return result.rows;
    },
    async exec(text: string) {
      await q.exec(text);
    },
  };
}

/**
 * Opens the embedded database: real Postgres compiled to WebAssembly, in this process.
 * `dataDir` is a directory (data survives restarts) or `memory://`. A directory is locked
 * first, and until closed: PGlite itself would let a second process open it, and two
 * processes writing one directory double-book and lose each other's commits.
 */
export async function createPgliteDb(dataDir: string): Promise<Db> {
  const inMemory = dataDir.startsWith("memory://");
  const lock = inMemory ? undefined : lockDataDir(dataDir);
  let pg: PGlite;
  try {
    pg = await PGlite.create(dataDir, { extensions: { btree_gist } });
  } catch (err) {
    lock?.release();
    throw err;
  }
  return {
    kind: "embedded",
    description: inMemory ? "embedded (in memory)" : `embedded (${dataDir})`,
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    async listen(channel, onNotify, onListen) {
      // In-process: the connection cannot drop, so onListen runs once.
      const unlisten = await pg.listen(channel, () => onNotify());
      onListen();
      return { unlisten };
    },
    async close() {
      try {
        if (!pg.closed) await pg.close();
      } finally {
        lock?.release();
      }
    },
  };
}
