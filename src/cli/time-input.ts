import type { Micros } from "../domain/reservation.js";

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Why a time given on the command line cannot be used; the message is shown as is. */
export class TimeInputError extends Error {
  override readonly name = "TimeInputError";
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return (DAYS[month - 1] ?? 0) + (month === 2 && leap ? 1 : 0);
}

/** Minutes east of UTC for `Z`, `+01`, `+0100` or `+01:00`. */
function offsetMinutes(zone: string): number {
  if (zone.toUpperCase() === "Z") return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(3).replace(":", "") || "0");
  if (hours > 23 || minutes > 59) throw new TimeInputError(`the offset ${zone} is out of range`);
  return (zone.startsWith("-") ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * Parses an ISO 8601 date-time as exact microseconds. With a zone (`Z`, `+01:00`) it is that
 * instant; without one it is a wall-clock time in the process's local zone (`TZ`), which is
 * what a person typing `2030-01-01T10:00` means. A date alone is local midnight.
 */
export function parseTimeInput(text: string): Micros {
  const m = ISO.exec(text.trim());
  if (!m) {
    throw new TimeInputError(
      "expected an ISO 8601 time such as 2030-01-01T10:00 (local) or 2030-01-01T10:00:00+01:00",
    );
  }
  const [, y = "", mo = "", d = "", h = "0", mi = "0", s = "0", frac = "", zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new TimeInputError(`${y}-${mo}-${d} is not a calendar date`);
  }
  if (hour > 23 || minute > 59 || second > 59) {
    throw new TimeInputError(`${h}:${mi}:${s} is not a time of day`);
  }
  if (frac.length > 6) throw new TimeInputError("times are kept to the microsecond, not finer");

  let ms: number;
  if (zone !== undefined) {
    const utc = new Date(0);
    // setUTCFullYear, unlike Date.UTC, does not turn years below 100 into 19xx.
    utc.setUTCFullYear(year, month - 1, day);
    utc.setUTCHours(hour, minute, second, 0);
    ms = utc.getTime() - offsetMinutes(zone) * 60_000;
  } else {
    const local = new Date(2000, 0, 1);
    local.setFullYear(year, month - 1, day);
    local.setHours(hour, minute, second, 0);
    // Date quietly moves a wall-clock time that a daylight-saving jump skips; refuse instead.
    if (local.getHours() !== hour || local.getMinutes() !== minute || local.getDate() !== day) {
      throw new TimeInputError(
        `${text.trim()} does not exist in the local time zone (a daylight-saving gap); give an offset`,
      );
    }
    ms = local.getTime();
  }
  return BigInt(ms) * 1000n + BigInt(frac.padEnd(6, "0"));
}
