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
const AVAILABLE_SQL = `
  WITH res AS (
    SELECT t.rid, coalesce(r.buffer_before, '0') AS bb, coalesce(r.buffer_after, '0') AS ba,
           greatest($2::timestamptz, rsvp.earliest_start(r)) AS lo,
           least($3::timestamptz, rsvp.latest_start(r)) AS last_start,
           greatest($4::bigint * interval '1 microsecond', r.min_duration) AS min_len
      FROM (SELECT $1::text AS rid WHERE $1::text IS NOT NULL
            UNION ALL
            SELECT p.id FROM rsvp.resources AS p WHERE p.pool = $5::text) AS t
      LEFT JOIN rsvp.resources AS r ON r.id = t.rid
  )
  SELECT res.rid, rsvp.to_micros(lower(w)) AS start_us, rsvp.to_micros(upper(w)) AS end_us
    FROM res, unnest(
           CASE WHEN res.lo >= $3::timestamptz THEN '{}'::tstzmultirange
                ELSE tstzmultirange(tstzrange(res.lo, $3::timestamptz, '[)')) END
           - COALESCE(
               (SELECT range_agg(tstzrange(lower(r.occupied) - res.ba, upper(r.occupied) + res.bb, '[)'))
                  FROM rsvp.reservations AS r
                 WHERE r.resource_id = res.rid AND r.status <> 'cancelled'
                   AND (r.expires_at IS NULL OR r.expires_at > now())
                   AND r.occupied && tstzrange($2::timestamptz - res.bb, $3::timestamptz + res.ba, '[)')),
               '{}'::tstzmultirange)
         ) AS w
   WHERE upper(w) - lower(w) >= res.min_len
     AND lower(w) <= res.last_start
   ORDER BY lower(w), res.rid`;

/** A free window on one resource. */
export interface FreeWindow extends TimeWindow {
  readonly resourceId: string;
}

/**
 * The free windows within `range`, each at least `minDuration` long, of one resource or
 * (`{ pool }`) of every resource of a pool, ordered by start, then resource.
 */
export async function availableWindows(
  db: Queryable,
  target: { readonly resourceId: string } | { readonly pool: string },
  range: TimeWindow,
  minDuration: Micros,
  signal?: AbortSignal,
): Promise<FreeWindow[]> {
  const rows = await db.query<{
    rid: string;
    start_us: bigint | number | string;
    end_us: bigint | number | string;
  }>(
    AVAILABLE_SQL,
    [
      "resourceId" in target ? target.resourceId : null,
      microsToIso(range.start),
      microsToIso(range.end),
      minDuration.toString(),
      "pool" in target ? target.pool : null,
    ],
    { signal },
  );
  return rows.map((r) => ({
    resourceId: r.rid,
    start: BigInt(r.start_us),
    end: BigInt(r.end_us),
  }));
}

/** Whether any resource is registered in `pool`. */
export async function poolExists(db: Queryable, pool: string, signal?: AbortSignal) {
  const rows = await db.query("SELECT 1 FROM rsvp.resources WHERE pool = $1 LIMIT 1", [pool], {
    signal,
  });
  return rows.length > 0;
}
