import type { Micros, TimeWindow } from "../../domain/reservation.js";
import { microsToIso } from "../../domain/time.js";
import type { Queryable } from "../engine/db.js";

// The range minus what occupies it, computed in Postgres from the GiST index: a multirange
// difference, so only the gaps travel. An expired hold no longer occupies. On a registered
// resource, a new window [s, e) occupies [s - before, e + after), so it fits only where it
// keeps clear of each occupied span widened the other way: [lower - after, upper + before).
// Its rules clip the range: nothing starts before rsvp.earliest_start or after
// rsvp.latest_start (the functions rsvp.broken_rule checks every write with), and no window is
// shorter than min_duration. Blocked windows (admins) are exempt from rules.
// $1 is one resource, or (with $1 NULL) $5 a pool: then every resource of it, each apart.
// A counted resource (capacity > 1) has room where at least $6 units are free throughout what
// a window there occupies: the maximal spans of such room, shrunk by the buffers, each with
// the fewest units free in it. Resources with fewer units than $6 have no room at all.
const AVAILABLE_SQL = `
  WITH res AS (
    SELECT t.rid, coalesce(r.buffer_before, '0') AS bb, coalesce(r.buffer_after, '0') AS ba,
           greatest(coalesce(r.capacity, 1), 1) AS cap,
           greatest($2::timestamptz, rsvp.earliest_start(r)) AS lo,
           least($3::timestamptz, rsvp.latest_start(r)) AS last_start,
           greatest($4::bigint * interval '1 microsecond', r.min_duration) AS min_len
      FROM (SELECT $1::text AS rid WHERE $1::text IS NOT NULL
            UNION ALL
            SELECT p.id FROM rsvp.resources AS p WHERE p.pool = $5::text) AS t
      LEFT JOIN rsvp.resources AS r ON r.id = t.rid
  ), found AS (
  SELECT res.rid, w, 1 AS free, res.min_len, res.last_start
    FROM res, unnest(
           CASE WHEN res.lo >= $3::timestamptz THEN '{}'::tstzmultirange
                ELSE tstzmultirange(tstzrange(res.lo, $3::timestamptz, '[)')) END
           - COALESCE(
               (SELECT range_agg(tstzrange(lower(r.occupied) - res.ba, upper(r.occupied) + res.bb, '[)'))
                  FROM rsvp.reservations AS r
                 WHERE r.resource_id = res.rid AND r.status NOT IN ('cancelled', 'waiting')
                   AND (r.expires_at IS NULL OR r.expires_at > now())
                   AND r.occupied && tstzrange($2::timestamptz - res.bb, $3::timestamptz + res.ba, '[)')),
               '{}'::tstzmultirange)
         ) AS w
   WHERE res.cap = 1 AND $6::integer = 1
  UNION ALL
  SELECT res.rid, tstzrange(lower(s.span) + res.bb, upper(s.span) - res.ba, '[)') * tstzrange(res.lo, $3::timestamptz, '[)'),
         s.free, res.min_len, res.last_start
    FROM res CROSS JOIN LATERAL rsvp.free_spans(
           res.rid, tstzrange(res.lo - res.bb, $3::timestamptz + res.ba, '[)'), res.cap, $6::integer) AS s
   WHERE res.cap > 1 AND res.cap >= $6::integer AND res.lo < $3::timestamptz
     AND upper(s.span) - lower(s.span) > res.bb + res.ba
  )
  SELECT f.rid, rsvp.to_micros(lower(f.w)) AS start_us, rsvp.to_micros(upper(f.w)) AS end_us, f.free
    FROM found AS f
   WHERE NOT isempty(f.w) AND upper(f.w) - lower(f.w) >= f.min_len AND lower(f.w) <= f.last_start
   ORDER BY lower(f.w), f.rid`;

/** A free window on one resource, with the fewest units free in it (1: exclusive). */
export interface FreeWindow extends TimeWindow {
  readonly resourceId: string;
  readonly free: number;
}

/**
 * The free windows within `range`, each at least `minDuration` long and with at least
 * `quantity` units free throughout, of one resource or (`{ pool }`) of every resource of a
 * pool, ordered by start, then resource.
 */
export async function availableWindows(
  db: Queryable,
  target: { readonly resourceId: string } | { readonly pool: string },
  range: TimeWindow,
  minDuration: Micros,
  signal?: AbortSignal,
  quantity = 1,
): Promise<FreeWindow[]> {
  const rows = await db.query<{
    rid: string;
    start_us: bigint | number | string;
    end_us: bigint | number | string;
    free: number;
  }>(
    AVAILABLE_SQL,
    [
      "resourceId" in target ? target.resourceId : null,
      microsToIso(range.start),
      microsToIso(range.end),
      minDuration.toString(),
      "pool" in target ? target.pool : null,
      quantity,
    ],
    { signal },
  );
  return rows.map((r) => ({
    resourceId: r.rid,
    start: BigInt(r.start_us),
    end: BigInt(r.end_us),
    free: r.free,
  }));
}

/** The most units any resource of the target holds (1 for an unregistered one). */
export async function largestCapacity(
  db: Queryable,
  target: { readonly resourceId: string } | { readonly pool: string },
  signal?: AbortSignal,
): Promise<number> {
  const [row] = await db.query<{ cap: number }>(
    `SELECT greatest(coalesce(max(r.capacity), 1), 1) AS cap FROM rsvp.resources AS r
      WHERE r.id = $1::text OR r.pool = $2::text`,
    ["resourceId" in target ? target.resourceId : null, "pool" in target ? target.pool : null],
    { signal },
  );
  return row?.cap ?? 1;
}

/** Whether any resource is registered in `pool`. */
export async function poolExists(db: Queryable, pool: string, signal?: AbortSignal) {
  const rows = await db.query("SELECT 1 FROM rsvp.resources WHERE pool = $1 LIMIT 1", [pool], {
    signal,
  });
  return rows.length > 0;
}
