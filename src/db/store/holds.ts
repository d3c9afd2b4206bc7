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

/**
 * Forgets up to `batch` idempotency keys older than 48 hours (they are promised for 24), in
 * one short statement; returns how many (call again while it equals `batch`).
 */
export async function pruneRequestKeys(db: Queryable, batch: number): Promise<number> {
  const rows = await db.query(
    `DELETE FROM rsvp.reserve_requests WHERE ctid = ANY (ARRAY(
       SELECT ctid FROM rsvp.reserve_requests
        WHERE created_at < now() - interval '48 hours' LIMIT $1))
     RETURNING 1`,
    [batch],
  );
  return rows.length;
}

/** A value from rsvp.settings. */
export async function getSetting(db: Queryable, name: string): Promise<string> {
  const [row] = await db.query<{ value: string }>(
    "SELECT value FROM rsvp.settings WHERE name = $1",
    [name],
  );
  if (!row) throw new Error(`setting ${name} is missing`);
  return row.value;
}
