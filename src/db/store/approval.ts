import type { Queryable } from "../engine/db.js";

/**
 * Which of these resources, or resources of these pools, need approval: the ids and pool
 * names (as given) that do. Unregistered resources never do.
 */
export async function needingApproval(
  db: Queryable,
  resourceIds: readonly string[],
  pools: readonly string[],
): Promise<Set<string>> {
  const rows = await db.query<{ name: string }>(
    `SELECT r.id AS name FROM rsvp.resources AS r
      WHERE r.id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND r.approval
     UNION
     SELECT DISTINCT r.pool FROM rsvp.resources AS r
      WHERE r.pool IN (SELECT jsonb_array_elements_text($2::text::jsonb)) AND r.approval`,
    [JSON.stringify(resourceIds), JSON.stringify(pools)],
  );
  return new Set(rows.map((r) => r.name));
}

/** The owner of a reservation and whether its resource needs approval; undefined if none. */
export async function approvalOf(
  db: Queryable,
  id: string,
): Promise<{ userId: string; resourceId: string; approval: boolean } | undefined> {
  const [row] = await db.query<{ user_id: string; resource_id: string; approval: boolean }>(
    `SELECT x.user_id, x.resource_id, coalesce(r.approval, false) AS approval
       FROM rsvp.reservations AS x LEFT JOIN rsvp.resources AS r ON r.id = x.resource_id
      WHERE x.id = $1::uuid`,
    [id],
  );
  return row && { userId: row.user_id, resourceId: row.resource_id, approval: row.approval };
}
