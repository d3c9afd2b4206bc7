import type { Micros, TimeWindow } from "../domain/reservation.js";
import { microsToIso } from "../domain/time.js";
import type { Queryable } from "./db.js";

// The range minus the union of what occupies it, computed in Postgres from the GiST index:
// a multirange difference, so only the gaps travel. An expired hold no longer occupies.
const AVAILABLE_SQL = `
  SELECT rsvp.to_micros(lower(w)) AS start_us, rsvp.to_micros(upper(w)) AS end_us
    FROM unnest(
           tstzmultirange(tstzrange($2::timestamptz, $3::timestamptz, '[)'))
           - COALESCE(
               (SELECT range_agg(r.timespan) FROM rsvp.reservations AS r
                 WHERE r.resource_id = $1 AND r.status <> 'cancelled'
                   AND (r.expires_at IS NULL OR r.expires_at > now())
                   AND r.timespan && tstzrange($2::timestamptz, $3::timestamptz, '[)')),
               '{}'::tstzmultirange)
         ) AS w
   WHERE upper(w) - lower(w) >= $4::bigint * interval '1 microsecond'
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
