import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Micros } from "../domain/reservation.js";
import { formatInstant } from "../domain/time.js";
import {
  type ListenResponse,
  type Reservation,
  ReservationStatus,
  ReservationUpdateType,
} from "../gen/reservation/reservation_pb.js";
import { timestampToMicros } from "../protocol/convert.js";

const pad2 = (n: number) => String(n).padStart(2, "0");

/**
 * An instant in the process's local zone (`TZ`) with its offset, for people:
 * `2030-01-01 11:00:00+01:00`, with a fraction only when it has one.
 */
export function formatLocal(us: Micros): string {
  const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
  const d = new Date(Number(ms));
  const micros = ((us % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const frac = micros === 0n ? "" : `.${micros.toString().padStart(6, "0")}`.replace(/0+$/, "");
  const east = -d.getTimezoneOffset();
  const offset = `${east < 0 ? "-" : "+"}${pad2(Math.floor(Math.abs(east) / 60))}:${pad2(Math.abs(east) % 60)}`;
  const date = `${String(d.getFullYear()).padStart(4, "0")}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${date} ${time}${frac}${offset}`;
}

/** A wire timestamp as exact microseconds (undefined when unset). */
export function micros(ts: Timestamp | undefined): Micros | undefined {
  return timestampToMicros("time", ts);
}

const localOrDash = (ts: Timestamp | undefined) => {
  const us = micros(ts);
  return us === undefined ? "-" : formatLocal(us);
};
const utcOrNull = (ts: Timestamp | undefined) => {
  const us = micros(ts);
  return us === undefined ? null : formatInstant(us);
};

/** `pending`, `confirmed`, ...: the enum name in lower case (a number if the enum is newer). */
export function statusName(status: ReservationStatus): string {
  return ReservationStatus[status]?.toLowerCase() ?? String(status);
}

/** `create`, `update` or `delete`. */
export function opName(op: ReservationUpdateType): string {
  return ReservationUpdateType[op]?.toLowerCase() ?? String(op);
}

/** The table columns of a reservation, in order. */
export const RESERVATION_COLUMNS = ["ID", "STATUS", "RESOURCE", "USER", "START", "END", "NOTE"];

// Control characters in a note would move the cursor or inject escapes into a terminal.
const printable = (text: string) => text.replace(/\p{Cc}+/gu, " ");

/** One table row: the cells under {@link RESERVATION_COLUMNS}. */
export function reservationCells(r: Reservation | undefined): string[] {
  if (!r) return RESERVATION_COLUMNS.map(() => "-");
  return [
    r.id,
    statusName(r.status),
    printable(r.resourceId),
    printable(r.userId),
    localOrDash(r.start),
    localOrDash(r.end),
    printable(r.note),
  ];
}

/** A reservation for scripts: RFC 3339 UTC times, lower-case status, the wire's JSON names. */
export function reservationJson(r: Reservation | undefined) {
  if (!r) return null;
  return {
    id: r.id,
    status: statusName(r.status),
    resourceId: r.resourceId,
    userId: r.userId,
    start: utcOrNull(r.start),
    end: utcOrNull(r.end),
    note: r.note,
    ...(r.checkedInAt ? { checkedInAt: utcOrNull(r.checkedInAt) } : {}),
    ...(r.cancelReason ? { cancelReason: r.cancelReason } : {}),
  };
}

/** A change event for scripts. */
export function eventJson(e: ListenResponse) {
  return {
    op: opName(e.op),
    cursor: e.cursor,
    committedAt: utcOrNull(e.committedAt),
    reservation: reservationJson(e.reservation),
  };
}

/** The table columns of a change event, in order. */
export const EVENT_COLUMNS = ["OP", ...RESERVATION_COLUMNS.slice(0, -1), "CURSOR", "NOTE"];

/**
 * `01-01 10:00–11:00` (local time, the seconds only when there are some; both days when the
 * window spans more than one): a window that leaves room in a narrow table.
 */
export function formatWhen(start: Micros | undefined, end: Micros | undefined): string {
  if (start === undefined || end === undefined) return "-";
  const [sDay, sTime] = shortLocal(start);
  const [eDay, eTime] = shortLocal(end);
  return sDay === eDay ? `${sDay} ${sTime}–${eTime}` : `${sDay} ${sTime}–${eDay} ${eTime}`;
}

function shortLocal(us: Micros): [string, string] {
  const local = formatLocal(us); // 2030-01-01 10:00:00+01:00
  const seconds = local.slice(17, 19);
  return [local.slice(5, 10), local.slice(11, seconds === "00" ? 16 : 19)];
}

/** The narrow table of change events (`-o table`); `-o wide` has {@link EVENT_COLUMNS}. */
export const NARROW_EVENT_COLUMNS = ["OP", "ID", "STATUS", "RESOURCE", "USER", "WHEN", "NOTE"];

/** One row under {@link NARROW_EVENT_COLUMNS}. */
export function narrowEventCells(e: ListenResponse): string[] {
  const r = e.reservation;
  if (!r) return [opName(e.op), ...NARROW_EVENT_COLUMNS.slice(1).map(() => "-")];
  return [
    opName(e.op),
    r.id,
    statusName(r.status),
    printable(r.resourceId),
    printable(r.userId),
    formatWhen(micros(r.start), micros(r.end)),
    printable(r.note),
  ];
}

/** One row under {@link EVENT_COLUMNS}. */
export function eventCells(e: ListenResponse): string[] {
  const cells = reservationCells(e.reservation);
  return [opName(e.op), ...cells.slice(0, -1), e.cursor, ...cells.slice(-1)];
}

/** Lines of a table whose columns are padded to their widest cell; the last is not padded. */
export function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  return [header, ...rows].map((row) => formatRow(row, widths));
}

/** One row padded to `widths`, two spaces between columns, no trailing blanks. */
export function formatRow(row: string[], widths: number[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}
