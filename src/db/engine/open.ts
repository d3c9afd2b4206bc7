import type { Db } from "./db.js";
import { createPgliteDb } from "./pglite-db.js";
import { createPostgresDb, type PostgresOptions } from "./postgres-db.js";

/** Where the data lives: the embedded database (a directory or memory) or a Postgres server. */
export type DatabaseTarget =
  | {
      readonly kind: "embedded";
      readonly dataDir: string;
      /** memory:// only: an archive of a data directory to start from (createPgliteDb). */
      readonly template?: string;
    }
  | ({ readonly kind: "postgres"; readonly url: string } & PostgresOptions);

/** Opens the database a configuration points at. */
export async function openDb(target: DatabaseTarget): Promise<Db> {
  return target.kind === "postgres"
    ? createPostgresDb(target.url, target)
    : createPgliteDb(target.dataDir, target.template);
}
