import type { Reservation } from "../gen/reservation/reservation_pb.js";
import { formatTable, RESERVATION_COLUMNS, reservationCells, reservationJson } from "./format.js";

/** Writes lines to stdout. */
export function printLines(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join("\n")}\n`);
}

/** Writes one value as a line of JSON (NDJSON when called repeatedly). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Reservations as an aligned table, or one JSON object per line with `--json`. */
export function printReservations(list: readonly (Reservation | undefined)[], json = false): void {
  if (json) {
    for (const r of list) printJson(reservationJson(r));
  } else {
    printLines(formatTable(RESERVATION_COLUMNS, list.map(reservationCells)));
  }
}
