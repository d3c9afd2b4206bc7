import type { Db } from "../../src/db/engine/db.js";

// Time moved by SQL instead of waited for: what a test would otherwise sleep through.

/**
 * Moves `ids`' hold expiry into the past, as if their time had run out, so a test need not
 * wait for it. The change log's trigger does not fire for this edit (replica role): listeners
 * hear what the service then does with the lapsed holds, as when the time really passes.
 */
export async function lapseHolds(db: Db, ids: readonly string[]): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.exec("SET LOCAL session_replication_role = replica");
    const rows = await tx.query(
      `UPDATE rsvp.reservations SET expires_at = now() - interval '1 millisecond'
        WHERE id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::text::jsonb)::uuid))
          AND status = 'pending' AND expires_at IS NOT NULL
        RETURNING 1`,
      [JSON.stringify(ids)],
    );
    if (rows.length !== ids.length) throw new Error(`only ${rows.length} of ${ids.length} holds`);
  });
}

/** Ages every idempotency key of `userId`'s `requestId` by `hours`. */
export async function ageRequestKey(
  db: Db,
  userId: string,
  requestId: string,
  hours: number,
): Promise<void> {
  const rows = await db.query(
    `UPDATE rsvp.reserve_requests SET created_at = created_at - make_interval(hours => $3)
      WHERE user_id = $1 AND request_id = $2 RETURNING 1`,
    [userId, requestId, hours],
  );
  if (rows.length !== 1) throw new Error(`no key ${requestId} of ${userId}`);
}

/**
 * Lets `seconds` pass for one resource: its reservations' windows, creation times and hold
 * expiries, and the moment its no-show rule took effect, all move that far into the past, as
 * if the time had gone by. Unrecorded (replica role), as {@link lapseHolds}. Earliest first,
 * so that no window ever lands on one not yet moved.
 */
export async function passTime(db: Db, resourceId: string, seconds: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.exec("SET LOCAL session_replication_role = replica");
    const by = "make_interval(secs => $2)";
    const rows = await tx.query<{ id: string }>(
      "SELECT id FROM rsvp.reservations WHERE resource_id = $1 ORDER BY lower(timespan), id",
      [resourceId],
    );
    for (const { id } of rows) {
      await tx.query(
        `UPDATE rsvp.reservations
            SET timespan = tstzrange(lower(timespan) - ${by}, upper(timespan) - ${by}, '[)'),
                created_at = created_at - ${by}, expires_at = expires_at - ${by}
          WHERE id = $1`,
        [id, seconds],
      );
    }
    await tx.query(
      `UPDATE rsvp.resources SET release_since = release_since - ${by} WHERE id = $1`,
      [resourceId, seconds],
    );
  });
}
