import type { Queryable } from "../engine/db.js";

/** Resources with a no-show due for release or a wait whose start has come, at most `limit`. */
export async function resourcesWithLapses(db: Queryable, limit: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    "SELECT t AS id FROM rsvp.lapsed_resources($1::integer) AS t",
    [limit],
  );
  return rows.map((r) => r.id);
}

/**
 * Releases one resource's no-shows ("no-show") and cancels its expired waits ("wait
 * expired") in one transaction, handing the freed room to whoever waits; returns how many.
 */
export async function releaseLapses(db: Queryable, resourceId: string): Promise<number> {
  const [row] = await db.query<{ n: bigint | number | string }>(
    "SELECT rsvp.release_lapsed($1) AS n",
    [resourceId],
  );
  return Number(row?.n ?? 0);
}
