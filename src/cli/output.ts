import type { Reservation } from "../gen/reservation/reservation_pb.js";
import type { OutputFormat } from "./client-command.js";
import { formatTable, RESERVATION_COLUMNS, reservationCells, reservationJson } from "./format.js";

/** Writes lines to stdout. */
export function printLines(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join("\n")}\n`);
}

/** Writes one value as a line of JSON (NDJSON when called repeatedly). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Reservations as an aligned table, one JSON object per line (`json`, or `true` for the
 * `--json` flag), or one id per line (`id`, for scripts).
 */
export function printReservations(
  list: readonly (Reservation | undefined)[],
  format: OutputFormat | boolean = "table",
): void {
  const as = format === true ? "json" : format === false ? "table" : format;
  if (as === "json") {
    for (const r of list) printJson(reservationJson(r));
  } else if (as === "id") {
    printLines(list.flatMap((r) => (r ? [r.id] : [])));
  } else {
    printLines(formatTable(RESERVATION_COLUMNS, list.map(reservationCells)));
  }
}
