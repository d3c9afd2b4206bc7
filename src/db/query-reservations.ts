import type { Micros, Reservation, ReservationFilter } from "../domain/reservation.js";
import { microsToIso } from "../domain/time.js";
import type { Queryable } from "./db.js";
import { type ReservationRow, reservationColumns, toReservation } from "./reservation-row.js";

/** Rows fetched per round trip when streaming. */
export const QUERY_BATCH_SIZE = 1000;

/** Position after the last row returned: the keyset of the next page. */
interface Keyset {
  readonly start: Micros;
  readonly id: string;
}

/**
 * Reservations that overlap `[start, end)` fall in two parts that each have an index-friendly
 * shape: those that began before `start` and still run at `start` (found through the GiST
 * index), and those that begin inside the window (a btree range scan on lower(timespan)).
 * Reading them as two keyset-paged phases keeps the first row fast and the cost per page
 * independent of how much history lies before the window.
 */
type Phase = "straddling" | "inside";

function buildPage(
  filter: ReservationFilter,
  phase: Phase,
  after: Keyset | undefined,
  limit: number,
) {
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (filter.resourceId !== undefined) where.push(`r.resource_id = ${p(filter.resourceId)}`);
  if (filter.userId !== undefined) where.push(`r.user_id = ${p(filter.userId)}`);
  where.push(
    filter.status === undefined
      ? "r.status <> 'cancelled'"
      : `r.status = ${p(filter.status)}::rsvp.reservation_status`,
  );
  if (filter.start !== undefined) {
    const start = p(microsToIso(filter.start));
    where.push(
      phase === "straddling"
        ? `r.timespan @> ${start}::timestamptz AND lower(r.timespan) < ${start}::timestamptz`
        : `lower(r.timespan) >= ${start}::timestamptz`,
    );
  }
  if (filter.end !== undefined)
    where.push(`lower(r.timespan) < ${p(microsToIso(filter.end))}::timestamptz`);
  const dir = filter.desc ? "DESC" : "ASC";
  if (after) {
    const cmp = filter.desc ? "<" : ">";
    where.push(
      `(lower(r.timespan), r.id) ${cmp} (${p(microsToIso(after.start))}::timestamptz, ${p(after.id)}::uuid)`,
    );
  }
  const text = `SELECT ${reservationColumns("r")} FROM rsvp.reservations AS r
    WHERE ${where.join(" AND ")}
    ORDER BY lower(r.timespan) ${dir}, r.id ${dir}
    LIMIT ${p(limit)}`;
  return { text, params };
}

/**
 * Streams the reservations matching `filter`, ordered by start then id (or the reverse), in
 * pages of `batchSize`. Each page is its own short query, so a slow consumer holds no
 * connection or transaction open and memory stays flat however many rows match. Rows are
 * never repeated or reordered; one written while the stream runs may or may not appear.
 */
export async function* queryReservations(
  db: Queryable,
  filter: ReservationFilter,
  batchSize = QUERY_BATCH_SIZE,
): AsyncGenerator<Reservation[]> {
  const phases: Phase[] =
    filter.start === undefined
      ? ["inside"]
      : filter.desc
        ? ["inside", "straddling"]
        : ["straddling", "inside"];
  for (const phase of phases) {
    let after: Keyset | undefined;
    for (;;) {
      const { text, params } = buildPage(filter, phase, after, batchSize);
      const rows = (await db.query<ReservationRow>(text, params)).map(toReservation);
      if (rows.length > 0) yield rows;
      const last = rows.at(-1);
      if (!last || rows.length < batchSize) break;
      after = { start: last.start, id: last.id };
    }
  }
}
