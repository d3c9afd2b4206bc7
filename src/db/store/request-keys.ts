import type { Queryable } from "../engine/db.js";

/** How long a reserve's idempotency key (request_id) is remembered, at least. */
export const REQUEST_KEY_RETENTION_HOURS = 48;

/**
 * Forgets up to `batch` idempotency keys older than {@link REQUEST_KEY_RETENTION_HOURS}, in
 * one short statement; returns how many (call again while it equals `batch`).
 */
export async function pruneRequestKeys(db: Queryable, batch: number): Promise<number> {
  const rows = await db.query(
    `DELETE FROM rsvp.reserve_requests WHERE ctid = ANY (ARRAY(
       SELECT ctid FROM rsvp.reserve_requests
        WHERE created_at < now() - make_interval(hours => $2) LIMIT $1))
     RETURNING 1`,
    [batch, REQUEST_KEY_RETENTION_HOURS],
  );
  return rows.length;
}
