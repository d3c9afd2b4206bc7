import { statSync } from "node:fs";
import type { Db, Queryable } from "./db.js";

/**
 * Where an embedded data directory lives: its device and inode. A copy (or a restore of a
 * backup) is a new directory with new ones; a restart, or a rename within one file system,
 * keeps them.
 */
function placeOf(dataDir: string): string {
  const s = statSync(dataDir, { bigint: true });
  return `${s.dev}:${s.ino}`;
}

/**
 * Gives a copied embedded data directory an identity of its own. A copy holds the original's
 * `database_id`, so the original's cursors would be trusted by it and resume at positions that
 * name other changes there: they must be refused instead. The directory's place is recorded
 * beside the id; at a start from another place the id is made anew. Returns whether it was.
 */
export async function renewIdentityIfCopied(db: Db, dataDir: string): Promise<boolean> {
  const place = placeOf(dataDir);
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ value: string }>(
      "SELECT value FROM rsvp.settings WHERE name = 'data_dir_place'",
    );
    if (row?.value === place) return false;
    await tx.query(
      `INSERT INTO rsvp.settings (name, value) VALUES ('data_dir_place', $1)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      [place],
    );
    // The first start records where the data is; it was made there.
    if (!row) return false;
    await renewIdentity(tx);
    return true;
  });
}

/**
 * Gives the database a new `database_id`: for a copy, such as a memory:// database started
 * from a template, whose cursors must not be trusted by the original or its other copies.
 */
export async function renewIdentity(db: Queryable): Promise<void> {
  await db.query(
    "UPDATE rsvp.settings SET value = gen_random_uuid()::text WHERE name = 'database_id'",
  );
}
