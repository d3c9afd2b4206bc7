import type { CalendarScope } from "../../db/store/calendar.js";
import { invalidArgument } from "../../domain/errors.js";
import type { Micros, TimeWindow } from "../../domain/reservation.js";
import { isoToMicros } from "../../domain/time.js";
import { parseName } from "../../domain/validate.js";

const DAY: Micros = 86_400_000_000n;

/** A feed's default window: from 30 days ago to 366 days ahead. */
export const FEED_PAST_DAYS = 30n;
export const FEED_AHEAD_DAYS = 366n;
/** The longest window a feed's `start`/`end` may ask for. */
export const MAX_FEED_SPAN_DAYS = 400n;
/** A free/busy's default range (from the start of today, UTC) and its longest. */
export const FREEBUSY_DEFAULT_DAYS = 30n;
export const MAX_FREEBUSY_SPAN_DAYS = 366n;

/** What a calendar URL asks for. */
export type CalendarRequest =
  | { readonly kind: "feed"; readonly scope: CalendarScope; readonly name: string }
  | {
      readonly kind: "freebusy";
      readonly target: { readonly resourceId: string } | { readonly pool: string };
      readonly name: string;
    };

const PATH = /^\/calendar\/(resources|pools|users)\/([^/]+?)(\.ics|\/freebusy\.ics)$/;

/**
 * The calendar a path names, or undefined when it names none. Throws INVALID_ARGUMENT for a
 * path of the right shape with an id that is not one.
 */
export function parseCalendarPath(pathname: string): CalendarRequest | undefined {
  const match = PATH.exec(pathname);
  if (!match) return undefined;
  const [, kind, raw = "", suffix] = match;
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw invalidArgument("the id in the path is not valid percent-encoding");
  }
  if (suffix === ".ics") {
    if (kind === "resources") {
      const resourceId = parseName("resource id", id);
      return { kind: "feed", scope: { resourceId }, name: resourceId };
    }
    if (kind === "pools") {
      const pool = parseName("pool", id);
      return { kind: "feed", scope: { pool }, name: `pool ${pool}` };
    }
    const userId = parseName("user id", id);
    return { kind: "feed", scope: { userId }, name: `${userId}'s reservations` };
  }
  if (kind === "resources") {
    const resourceId = parseName("resource id", id);
    return { kind: "freebusy", target: { resourceId }, name: `${resourceId} free/busy` };
  }
  if (kind === "pools") {
    const pool = parseName("pool", id);
    return { kind: "freebusy", target: { pool }, name: `pool ${pool} free/busy` };
  }
  return undefined; // a user has no free/busy
}

function instant(params: URLSearchParams, name: string): Micros | undefined {
  const value = params.get(name);
  if (value === null || value === "") return undefined;
  const us = isoToMicros(value);
  if (us === undefined) {
    throw invalidArgument(`${name} must be an RFC 3339 time such as 2030-01-01T00:00:00Z`);
  }
  return us;
}

/**
 * The window of `start`/`end` query parameters: each defaults (the other one or `fallback`
 * decides), start must come before end, and the span may not exceed `maxDays`.
 */
export function parseRange(
  params: URLSearchParams,
  fallback: TimeWindow,
  maxDays: bigint,
): TimeWindow {
  const start = instant(params, "start");
  const end = instant(params, "end");
  const span = fallback.end - fallback.start;
  const window = {
    start: start ?? (end === undefined ? fallback.start : end - span),
    end: end ?? (start === undefined ? fallback.end : start + span),
  };
  if (window.start >= window.end) throw invalidArgument("start must be before end");
  if (window.end - window.start > maxDays * DAY) {
    throw invalidArgument(`start and end may be at most ${maxDays} days apart`);
  }
  return window;
}

/** A feed's default window around `now`. */
export const feedWindow = (now: Micros): TimeWindow => ({
  start: now - FEED_PAST_DAYS * DAY,
  end: now + FEED_AHEAD_DAYS * DAY,
});

/** A free/busy's default range: today (UTC) and the days after, stable for a whole day. */
export function freeBusyWindow(now: Micros): TimeWindow {
  const today = now - (((now % DAY) + DAY) % DAY);
  return { start: today, end: today + FREEBUSY_DEFAULT_DAYS * DAY };
}
