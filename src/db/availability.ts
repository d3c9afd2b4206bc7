import type { Micros, TimeWindow } from "../domain/reservation.js";
import { microsToIso } from "../domain/time.js";
import type { Queryable } from "./db.js";

// The range minus what occupies it, computed in Postgres from the GiST index: a multirange
// difference, so only the gaps travel. An expired hold no longer occupies. On a registered
// resource, a new window [s, e) occupies [s - before, e + after), so it fits only where it
// keeps clear of each occupied span widened the other way: [lower - after, upper + before).
// Its rules clip the range: nothing starts before now + min_notice or after now + max_advance,
// and no window is shorter than min_duration. Blocked windows (admins) are exempt from rules.
const AVAILABLE_SQL = `
  WITH res AS (
    SELECT coalesce(r.buffer_before, '0') AS bb, coalesce(r.buffer_after, '0') AS ba,
           greatest($2::timestamptz, now() + r.min_notice) AS lo,
           least($3::timestamptz, now() + r.max_advance) AS last_start,
           greatest($4::bigint * interval '1 microsecond', r.min_duration) AS min_len
      FROM (SELECT 1) AS one LEFT JOIN rsvp.resources AS r ON r.id = $1
  )
  SELECT rsvp.to_micros(lower(w)) AS start_us, rsvp.to_micros(upper(w)) AS end_us
    FROM res, unnest(
           CASE WHEN res.lo >= $3::timestamptz THEN '{}'::tstzmultirange
                ELSE tstzmultirange(tstzrange(res.lo, $3::timestamptz, '[)')) END
           - COALESCE(
               (SELECT range_agg(tstzrange(lower(r.occupied) - res.ba, upper(r.occupied) + res.bb, '[)'))
                  FROM rsvp.reservations AS r
                 WHERE r.resource_id = $1 AND r.status <> 'cancelled'
                   AND (r.expires_at IS NULL OR r.expires_at > now())
                   AND r.occupied && tstzrange($2::timestamptz - res.bb, $3::timestamptz + res.ba, '[)')),
               '{}'::tstzmultirange)
         ) AS w
   WHERE upper(w) - lower(w) >= res.min_len
     AND lower(w) <= res.last_start
   ORDER BY lower(w)`;

/** The free windows of a resource within `range`, each at least `minDuration` long. */
export async function availableWindows(
  db: Queryable,
  resourceId: string,
  range: TimeWindow,
  minDuration: Micros,
  signal?: AbortSignal,
): Promise<TimeWindow[]> {
  const rows = await db.query<{
    start_us: bigint | number | string;
    end_us: bigint | number | string;
  }>(
    AVAILABLE_SQL,
    [resourceId, microsToIso(range.start), microsToIso(range.end), minDuration.toString()],
    { signal },
  );
  return rows.map((r) => ({ start: BigInt(r.start_us), end: BigInt(r.end_us) }));
}
