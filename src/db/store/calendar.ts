import type { Micros, Reservation, TimeWindow } from "../../domain/reservation.js";
import { microsToIso } from "../../domain/time.js";
import type { Queryable } from "../engine/db.js";
import { type ReservationRow, reservationColumns, toReservation } from "./reservation-row.js";

/** Whose reservations a calendar shows: one resource's, a pool's, or one user's. */
export type CalendarScope =
  | { readonly resourceId: string }
  | { readonly pool: string }
  | { readonly userId: string };

/** A live reservation with how many times it changed (a calendar's SEQUENCE). */
export interface CalendarEntry {
  readonly reservation: Reservation;
  readonly revision: number;
}

const SCOPE_WHERE = {
  resourceId: "r.resource_id = $1",
  pool: "r.resource_id IN (SELECT p.id FROM rsvp.resources AS p WHERE p.pool = $1)",
  userId: "r.user_id = $1",
} as const;

/**
 * The live reservations of `scope` overlapping `range`, by start then id, at most `limit`.
 * An expired hold is no longer live, even before the sweeper cancels it.
 */
export async function calendarEntries(
  db: Queryable,
  scope: CalendarScope,
  range: TimeWindow,
  limit: number,
): Promise<CalendarEntry[]> {
  const [key, value] = Object.entries(scope)[0] as [keyof typeof SCOPE_WHERE, string];
  const rows = await db.query<ReservationRow & { revision: number }>(
    `SELECT ${reservationColumns("r")}, r.revision
       FROM rsvp.reservations AS r
      WHERE ${SCOPE_WHERE[key]}
        AND r.status NOT IN ('cancelled', 'waiting') AND (r.expires_at IS NULL OR r.expires_at > now())
        AND r.timespan && tstzrange($2::timestamptz, $3::timestamptz, '[)')
      ORDER BY lower(r.timespan), r.id
      LIMIT $4`,
    [value, microsToIso(range.start), microsToIso(range.end), limit],
  );
  return rows.map((row) => ({ reservation: toReservation(row), revision: Number(row.revision) }));
}

/** Busy periods of a resource or pool, merged and clipped to the range asked for. */
export interface FreeBusy {
  /** Where nothing can be booked: confirmed and blocked reservations, buffers included. */
  readonly busy: TimeWindow[];
  /** Where only pending reservations and holds (and their buffers) stand in the way. */
  readonly tentative: TimeWindow[];
}

// Per member: what confirmed and blocked reservations occupy, and what every live one does,
// as multiranges clipped to the range. A pool is busy where every member is: the intersection
// over members. Tentative is what is occupied but not busy.
const FREEBUSY_SQL = `
  WITH win AS (SELECT tstzmultirange(tstzrange($2::timestamptz, $3::timestamptz, '[)')) AS w),
  members AS (
    SELECT $1::text AS id WHERE $4::text IS NULL
    UNION ALL
    SELECT p.id FROM rsvp.resources AS p WHERE p.pool = $4::text
  ),
  per AS (
    SELECT m.id,
           coalesce(range_agg(r.occupied) FILTER (WHERE r.status IN ('confirmed', 'blocked')),
                    '{}'::tstzmultirange) * win.w AS busy,
           coalesce(range_agg(r.occupied) FILTER (WHERE r.id IS NOT NULL),
                    '{}'::tstzmultirange) * win.w AS occupied
      FROM members AS m CROSS JOIN win
      LEFT JOIN rsvp.reservations AS r
        ON r.resource_id = m.id AND r.status NOT IN ('cancelled', 'waiting')
       AND (r.expires_at IS NULL OR r.expires_at > now())
       AND r.occupied && tstzrange($2::timestamptz, $3::timestamptz, '[)')
     GROUP BY m.id, win.w
  ),
  total AS (
    SELECT range_intersect_agg(per.busy) AS busy, range_intersect_agg(per.occupied) AS occupied
      FROM per
  )
  SELECT 'busy' AS kind, rsvp.to_micros(lower(s)) AS start_us, rsvp.to_micros(upper(s)) AS end_us
    FROM total, unnest(total.busy) AS s
  UNION ALL
  SELECT 'tentative', rsvp.to_micros(lower(s)), rsvp.to_micros(upper(s))
    FROM total, unnest(total.occupied - total.busy) AS s
   ORDER BY 2`;

/** The free/busy periods of one resource or of a pool (busy where no member is free). */
export async function freeBusy(
  db: Queryable,
  target: { readonly resourceId: string } | { readonly pool: string },
  range: TimeWindow,
): Promise<FreeBusy> {
  const rows = await db.query<{
    kind: "busy" | "tentative";
    start_us: bigint | number | string;
    end_us: bigint | number | string;
  }>(FREEBUSY_SQL, [
    "resourceId" in target ? target.resourceId : null,
    microsToIso(range.start),
    microsToIso(range.end),
    "pool" in target ? target.pool : null,
  ]);
  const result: FreeBusy = { busy: [], tentative: [] };
  for (const row of rows) {
    const period = { start: BigInt(row.start_us) as Micros, end: BigInt(row.end_us) as Micros };
    (row.kind === "busy" ? result.busy : result.tentative).push(period);
  }
  return result;
}
