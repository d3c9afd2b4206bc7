import type { Queryable } from "../engine/db.js";

/** A value from rsvp.settings; throws when the migrations did not create it. */
export async function getSetting(db: Queryable, name: string): Promise<string> {
  const [row] = await db.query<{ value: string }>(
    "SELECT value FROM rsvp.settings WHERE name = $1",
    [name],
  );
  if (!row) throw new Error(`setting ${name} is missing`);
  return row.value;
}
