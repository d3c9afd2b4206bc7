import type { Micros } from "../domain/reservation.js";
import { parseDuration } from "./duration-input.js";

/** Why a time given on the command line cannot be used; the message is shown as is. */
export class TimeInputError extends Error {
  override readonly name = "TimeInputError";
}

/** A calendar day (month 1-12). */
export interface Day {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** A day named relative to today: `today`, `tomorrow`, `yesterday`, or the next `mon`...`sun`. */
export type DayWord =
  | { readonly word: "today" | "tomorrow" | "yesterday" }
  | { readonly weekday: number };

interface Clock {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly frac: string;
  /** Minutes east of UTC; undefined: local time (TZ). */
  readonly offset?: number;
}

/** A parsed time, resolved against a moment (`now`) only when used. */
export type TimeInput =
  | { readonly kind: "now" }
  | { readonly kind: "relative"; readonly delta: Micros }
  | {
      readonly kind: "at";
      readonly day?: Day | DayWord;
      readonly clock?: Clock;
      /** As typed, for messages. */
      readonly text?: string;
    };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(z|[+-]\d{2}(?::?\d{2})?)?$/;
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const DAY_WORDS = new Set(["today", "tomorrow", "yesterday"]);

const USAGE =
  "expected an ISO 8601 time such as 2030-01-01T10:00 (local) or 2030-01-01T10:00:00+01:00, " +
  "or now, +1h, -30m, 14:00, today 14:00, tomorrow 10:00, mon 9:00";
const DAY_USAGE = "expected a day: 2030-01-01, today, tomorrow, yesterday or mon...sun";

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

function parseDate(text: string): Day | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day] = m.slice(1).map(Number) as [number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new TimeInputError(`${text} is not a calendar date`);
  }
  return { year, month, day };
}

function parseDayWord(text: string): DayWord | undefined {
  if (DAY_WORDS.has(text)) return { word: text as "today" | "tomorrow" | "yesterday" };
  // Three letters or more of a weekday's name: `mon`, `tues`, `wednesday`.
  const found = WEEKDAYS.findIndex((n) => text.length >= 3 && n.startsWith(text));
  return found >= 0 ? { weekday: found } : undefined;
}

function parseClock(text: string): Clock | undefined {
  const m = CLOCK.exec(text);
  if (!m) return undefined;
  const [, h = "", mi = "", s = "0", frac = "", zone] = m;
  const [hour, minute, second] = [h, mi, s].map(Number) as [number, number, number];
  if (hour > 23 || minute > 59 || second > 59) {
    throw new TimeInputError(`${text} is not a time of day`);
  }
  if (frac.length > 6) throw new TimeInputError("times are kept to the microsecond, not finer");
  return {
    hour,
    minute,
    second,
    frac,
    offset: zone === undefined ? undefined : offsetMinutes(zone),
  };
}

/** Parses a day for `--date`: `2030-01-01`, `today`, `tomorrow`, `yesterday`, `mon`...`sun`. */
export function parseDayInput(text: string): Day | DayWord {
  const t = text.trim().toLowerCase();
  const day = parseDate(t) ?? parseDayWord(t);
  if (!day) throw new TimeInputError(DAY_USAGE);
  return day;
}

// Hand-written rather than a natural-language parser such as chrono-node: that reads far more
// ("in two weeks", "next friday at 5") and guesses at what it half understands, resolves through
// Date (which moves a wall-clock time that a daylight-saving jump skips instead of refusing it)
// and stops at milliseconds. The grammar here is a handful of forms, each one tested, with
// property tests, in test/time-input.test.ts.

/**
 * Parses what a person types for a time, without resolving it yet:
 * - ISO 8601: `2030-01-01T10:00` or `2030-01-01 10:00` (local time, TZ), `...Z`, `...+01:00`;
 *   a date alone is its local midnight;
 * - `now`, and `+1h`, `+90m`, `-30m`, `+1h30m`, `+2d` from now;
 * - `[DAY] HH:MM[:SS[.ffffff]][ZONE]` where DAY is `today`, `tomorrow`, `yesterday` or a
 *   weekday (`mon`, `monday`: the next one, today included, as GNU date reads it); without a
 *   DAY the time is on today (or on `--date`'s day); a DAY alone is its midnight.
 * Anything else is refused rather than guessed at.
 */
export function parseTimeSyntax(text: string): TimeInput {
  const t = text.trim().toLowerCase();
  if (t === "now") return { kind: "now" };
  if (/^[+-]/.test(t)) {
    const delta = parseDuration(t.slice(1));
    if (delta === undefined) throw new TimeInputError(USAGE);
    return { kind: "relative", delta: t.startsWith("-") ? -delta : delta };
  }
  // ISO's `T` separator, or a space, between the day and the clock.
  const iso = /^(\d{4}-\d{2}-\d{2})t(.*)$/.exec(t);
  const [first = "", second, ...rest] = iso ? [iso[1], iso[2]] : t.split(/\s+/);
  if (rest.length > 0) throw new TimeInputError(USAGE);
  const day = parseDate(first) ?? parseDayWord(first);
  if (second === undefined) {
    if (day) return { kind: "at", day, text: t };
    const clock = parseClock(first);
    if (clock) return { kind: "at", clock, text: t };
    throw new TimeInputError(USAGE);
  }
  const clock = day ? parseClock(second) : undefined;
  if (!clock) throw new TimeInputError(USAGE);
  return { kind: "at", day, clock, text: t };
}

/** What a time is resolved against: the moment of the command, and `--date`'s day if given. */
export interface TimeContext {
  /** Milliseconds since the epoch. */
  readonly now: number;
  readonly date?: Day | DayWord;
}

/** The local calendar day `dayWord` names, seen from `nowMs`. */
export function resolveDay(day: Day | DayWord, nowMs: number): Day {
  if ("year" in day) return day;
  const d = new Date(nowMs);
  let shift = 0;
  if ("weekday" in day) shift = (day.weekday - d.getDay() + 7) % 7;
  else shift = { today: 0, tomorrow: 1, yesterday: -1 }[day.word];
  // Noon never falls in a daylight-saving jump, so the date arithmetic stays on the calendar.
  const moved = new Date(d.getFullYear(), d.getMonth(), d.getDate() + shift, 12);
  return { year: moved.getFullYear(), month: moved.getMonth() + 1, day: moved.getDate() };
}

function localMs(day: Day, clock: Clock, text = "that time"): number {
  const { year, month, day: date } = day;
  const { hour, minute, second } = clock;
  if (clock.offset !== undefined) {
    const utc = new Date(0);
    // setUTCFullYear, unlike Date.UTC, does not turn years below 100 into 19xx.
    utc.setUTCFullYear(year, month - 1, date);
    utc.setUTCHours(hour, minute, second, 0);
    return utc.getTime() - clock.offset * 60_000;
  }
  const local = new Date(2000, 0, 1);
  local.setFullYear(year, month - 1, date);
  local.setHours(hour, minute, second, 0);
  // Date quietly moves a wall-clock time that a daylight-saving jump skips; refuse instead.
  if (local.getHours() !== hour || local.getMinutes() !== minute || local.getDate() !== date) {
    throw new TimeInputError(
      `${text} does not exist in the local time zone (a daylight-saving gap); give an offset`,
    );
  }
  return local.getTime();
}

const MIDNIGHT: Clock = { hour: 0, minute: 0, second: 0, frac: "" };

/** A parsed time as exact microseconds, seen from `ctx`. */
export function resolveTime(input: TimeInput, ctx: TimeContext): Micros {
  const now = BigInt(ctx.now) * 1000n;
  if (input.kind === "now") return now;
  if (input.kind === "relative") return now + input.delta;
  const day = resolveDay(input.day ?? ctx.date ?? { word: "today" }, ctx.now);
  const clock = input.clock ?? MIDNIGHT;
  return BigInt(localMs(day, clock, input.text)) * 1000n + BigInt(clock.frac.padEnd(6, "0"));
}

/** {@link parseTimeSyntax} then {@link resolveTime}: a time as exact microseconds. */
export function parseTimeInput(text: string, ctx: TimeContext = { now: Date.now() }): Micros {
  return resolveTime(parseTimeSyntax(text), ctx);
}
