import { RRuleTemporal } from "rrule-temporal";
import { invalidArgument, quote, shorten } from "./errors.js";
import type { Micros, TimeWindow } from "./reservation.js";

/** Most occurrences one series may have. */
export const MAX_OCCURRENCES = 1000;

// What a series may say: the subset of RFC 5545 the contract promises (plus WKST, which only
// changes how weeks are counted). Anything else is refused rather than silently ignored.
const PARTS = new Set(["FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL", "WKST"]);
const FREQS = new Set(["DAILY", "WEEKLY", "MONTHLY"]);
// COUNT and INTERVAL: a plain whole number from 1 (no sign, fraction or exponent). Six digits
// are more than any series may use: it has at most MAX_OCCURRENCES occurrences.
const POSITIVE_INTEGER = /^[1-9][0-9]{0,5}$/;

/** An RRULE value (with or without the "RRULE:" prefix), checked and normalised. */
export function parseRrule(text: string): string {
  const body = text.trim().replace(/^RRULE:/i, "");
  if (body === "") throw invalidArgument("rrule is required");
  if (/[\r\n]/.test(body)) throw invalidArgument("rrule must be a single RRULE line, no DTSTART");
  const parts = new Map<string, string>();
  for (const part of body.split(";")) {
    const [key = "", value = "", ...rest] = part.split("=");
    const name = key.toUpperCase();
    if (value === "" || rest.length > 0) {
      throw invalidArgument(`rrule part ${quote(part)} is malformed`);
    }
    if (!PARTS.has(name)) throw invalidArgument(`rrule part ${quote(name)} is not supported`);
    if (parts.has(name)) throw invalidArgument(`rrule part ${name} is given twice`);
    if ((name === "COUNT" || name === "INTERVAL") && !POSITIVE_INTEGER.test(value)) {
      throw invalidArgument(`rrule ${name} must be a whole number from 1, got ${quote(value)}`);
    }
    parts.set(name, value.toUpperCase());
  }
  if (!FREQS.has(parts.get("FREQ") ?? "")) {
    throw invalidArgument("rrule FREQ must be DAILY, WEEKLY or MONTHLY");
  }
  if (parts.has("COUNT") === parts.has("UNTIL")) {
    throw invalidArgument("rrule needs exactly one of COUNT and UNTIL");
  }
  return [...parts].map(([k, v]) => `${k}=${v}`).join(";");
}

/** An instant's wall-clock time in `zone`, as an iCalendar local date-time (whole seconds). */
function wallClock(us: Micros, zone: string): string {
  const ms = Number((us - (((us % 1_000_000n) + 1_000_000n) % 1_000_000n)) / 1000n);
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year").padStart(4, "0")}${get("month")}${get("day")}T${get("hour")}${get("minute")}${get("second")}`;
}

/**
 * The windows of a series: `first` repeated by `rrule`, expanded in `zone` so that every
 * occurrence keeps the first one's local wall-clock time across daylight-saving changes
 * (rrule-temporal expands in Temporal's ZonedDateTime). Each keeps the first one's length.
 */
export function expandSeries(first: TimeWindow, rrule: string, zone: string): TimeWindow[] {
  const body = parseRrule(rrule);
  const subSecond = ((first.start % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const length = first.end - first.start;
  let starts: Array<{ epochMilliseconds: number }>;
  try {
    const rule = new RRuleTemporal({
      rruleString: `DTSTART;TZID=${zone}:${wallClock(first.start, zone)}\nRRULE:${body}`,
    });
    // One more than allowed tells a series that is too long from one that just fits.
    starts = rule.all((_, i) => i <= MAX_OCCURRENCES);
  } catch (err) {
    // The parser's reason may quote the rule: cut like any other caller's value.
    throw invalidArgument(
      `rrule ${quote(body)} is invalid: ${shorten((err as Error).message, 200)}`,
    );
  }
  if (starts.length > MAX_OCCURRENCES) {
    throw invalidArgument(`a series may have at most ${MAX_OCCURRENCES} occurrences`);
  }
  if (starts.length === 0) throw invalidArgument("rrule yields no occurrence");
  return starts.map((d) => {
    const start = BigInt(d.epochMilliseconds) * 1000n + subSecond;
    return { start, end: start + length };
  });
}
