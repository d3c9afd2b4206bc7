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
  /**
   * Where nothing can be booked: no unit free counting confirmed and blocked reservations,
   * buffers included (on an exclusive resource, wherever one of them stands).
   */
  readonly busy: TimeWindow[];
  /** Where no unit is free only counting pending reservations and holds (and their buffers) too. */
  readonly tentative: TimeWindow[];
}

// Per member, the units in use over the range come from rsvp.use_segments (the function the
// capacity check itself uses: live reservations by their occupied windows, a blocked one taking
// the whole capacity). Its segments are elementary, so a pending reservation or hold either
// covers a segment whole or not at all: the firm use of a segment is its use less the units of
// the pending ones overlapping it. A member is full where its use reaches its capacity (0 or 1
// counts as 1, so an exclusive resource is full wherever one reservation stands), busy where its
// firm use does. A pool is busy where every member is: the intersection over members. Tentative
// is what is full but not busy.
const FREEBUSY_SQL = `
  WITH span AS (SELECT tstzrange($2::timestamptz, $3::timestamptz, '[)') AS s),
  members AS (
    SELECT $1::text AS id WHERE $4::text IS NULL
    UNION ALL
    SELECT p.id FROM rsvp.resources AS p WHERE p.pool = $4::text
  ),
  caps AS (
    SELECT m.id, greatest(coalesce(r.capacity, 1), 1) AS cap
      FROM members AS m LEFT JOIN rsvp.resources AS r ON r.id = m.id
  ),
  segs AS (
    SELECT c.id, u.seg,
           u.used >= c.cap AS is_full,
           u.used - coalesce((
             SELECT sum(x.quantity) FROM rsvp.reservations AS x
              WHERE x.resource_id = c.id AND x.status = 'pending'
                AND (x.expires_at IS NULL OR x.expires_at > now()) AND x.occupied && u.seg
           ), 0) >= c.cap AS is_firm
      FROM caps AS c CROSS JOIN span
      CROSS JOIN LATERAL rsvp.use_segments(c.id, span.s, c.cap, NULL) AS u
     WHERE u.used >= c.cap
  ),
  per AS (
    SELECT c.id,
           coalesce((SELECT range_agg(g.seg) FROM segs AS g WHERE g.id = c.id AND g.is_firm),
                    '{}'::tstzmultirange) AS busy,
           coalesce((SELECT range_agg(g.seg) FROM segs AS g WHERE g.id = c.id AND g.is_full),
                    '{}'::tstzmultirange) AS occupied
      FROM caps AS c
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

/**
 * The free/busy periods of one resource or of a pool (busy where no member has a unit free):
 * a counted resource is busy only where it is full.
 */
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
