import { randomUUID } from "node:crypto";
import type { NewReservation, Reservation } from "../domain/reservation.js";
import { microsToIso } from "../domain/time.js";
import type { Queryable } from "./db.js";
import { type ReservationRow, reservationColumns, toReservation } from "./reservation-row.js";

/** The answer to one reserve request: the stored row, or the live row it clashed with. */
export type ReserveOutcome =
  | { readonly ok: true; readonly reservation: Reservation }
  | { readonly ok: false; readonly conflict: Reservation };

const RESERVE_SQL = `SELECT f.out_conflict_for AS conflict_for, ${reservationColumns("r")}
  FROM rsvp.reserve($1::text::jsonb) AS f, LATERAL (SELECT (f.out_row).*) AS r`;

/**
 * Reserves several windows in one statement (one transaction, one round trip). Each request
 * gets its own exact outcome, in input order; earlier requests win clashes within the batch.
 */
export async function reserveMany(
  db: Queryable,
  requests: readonly NewReservation[],
): Promise<ReserveOutcome[]> {
  const ids = requests.map(() => randomUUID());
  const payload = requests.map((r, i) => ({
    id: ids[i],
    user_id: r.userId,
    resource_id: r.resourceId,
    status: r.status,
    start_at: microsToIso(r.start),
    end_at: microsToIso(r.end),
    note: r.note,
  }));
  const rows = await db.query<ReservationRow & { conflict_for: string | null }>(RESERVE_SQL, [
    JSON.stringify(payload),
  ]);
  const inserted = new Map<string, Reservation>();
  const clashes = new Map<string, Reservation>();
  for (const row of rows) {
    if (row.conflict_for === null) inserted.set(row.id, toReservation(row));
    else clashes.set(row.conflict_for, toReservation(row));
  }
  return ids.map((id) => {
    const reservation = inserted.get(id);
    if (reservation) return { ok: true, reservation };
    const conflict = clashes.get(id);
    // rsvp.reserve holds the resource lock while it looks, so a clash always has a culprit.
    if (!conflict) throw new Error(`reserve returned neither a row nor a conflict for ${id}`);
    return { ok: false, conflict };
  });
}

async function one(db: Queryable, sql: string, params: unknown[]) {
  const [row] = await db.query<ReservationRow>(sql, params);
  return row ? toReservation(row) : undefined;
}

const byFunction = (fn: string, args: string) =>
  `SELECT ${reservationColumns("r")} FROM rsvp.${fn}(${args}) AS r`;
const CONFIRM_SQL = byFunction("confirm", "$1::uuid");
const CANCEL_SQL = byFunction("cancel", "$1::uuid");
const UPDATE_NOTE_SQL = byFunction("update_note", "$1::uuid, $2::text");
const GET_SQL = `SELECT ${reservationColumns("r")} FROM rsvp.reservations AS r WHERE r.id = $1::uuid`;

/** Confirms a pending reservation; returns the row as it stands afterwards, if it exists. */
export const confirm = (db: Queryable, id: string) => one(db, CONFIRM_SQL, [id]);

/** Cancels a reservation (freeing its window); returns the row as it stands afterwards. */
export const cancel = (db: Queryable, id: string) => one(db, CANCEL_SQL, [id]);

/** Replaces a live reservation's note; returns the row as it stands afterwards. */
export const updateNote = (db: Queryable, id: string, note: string) =>
  one(db, UPDATE_NOTE_SQL, [id, note]);

/** Reads one reservation. */
export const get = (db: Queryable, id: string) => one(db, GET_SQL, [id]);
