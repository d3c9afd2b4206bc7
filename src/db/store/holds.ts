import type { Queryable } from "../engine/db.js";

/** Resources that have holds past their expiry, at most `limit`. */
export async function resourcesWithExpiredHolds(db: Queryable, limit: number): Promise<string[]> {
  const rows = await db.query<{ resource_id: string }>(
    `SELECT DISTINCT resource_id FROM rsvp.reservations
      WHERE status = 'pending' AND expires_at <= now() LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.resource_id);
}

/** Releases one resource's expired holds (its own transaction); returns how many. */
export async function releaseExpiredHolds(db: Queryable, resourceId: string): Promise<number> {
  const [row] = await db.query<{ n: bigint | number | string }>(
    "SELECT rsvp.release_expired($1) AS n",
    [resourceId],
  );
  return Number(row?.n ?? 0);
}
