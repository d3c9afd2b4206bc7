import { createHash } from "node:crypto";
import ical, { ICalCalendarMethod, ICalEventStatus } from "ical-generator";
import type { CalendarEntry, FreeBusy } from "../../db/store/calendar.js";
import type { Micros, Status, TimeWindow } from "../../domain/reservation.js";

/** How often calendar apps are asked to fetch a feed again (REFRESH-INTERVAL, X-PUBLISHED-TTL). */
export const REFRESH_SECONDS = 15 * 60;

const PRODUCT = { company: "rsvp", product: "rsvp", language: "EN" } as const;

// Holds are pending reservations: tentative until confirmed. A blocked window is as firm as a booking.
const STATUS: Record<Exclude<Status, "cancelled" | "waiting">, ICalEventStatus> = {
  pending: ICalEventStatus.TENTATIVE,
  confirmed: ICalEventStatus.CONFIRMED,
  blocked: ICalEventStatus.CONFIRMED,
};

// iCalendar times have whole seconds; a window keeps its instants rounded down.
const toDate = (us: Micros) => new Date(Number(us / 1_000_000n) * 1000);

/** One VEVENT's worth: whether its owner and note may be shown to the viewer. */
export interface FeedEvent extends CalendarEntry {
  readonly visible: boolean;
}

function calendar(name: string) {
  return ical({
    name,
    prodId: PRODUCT,
    method: ICalCalendarMethod.PUBLISH,
    ttl: REFRESH_SECONDS,
  });
}

// RFC 5545 ends every content line, the last included, with CRLF.
const terminated = (text: string) => (text.endsWith("\r\n") ? text : `${text}\r\n`);

/**
 * An RFC 5545 VCALENDAR of `events`, escaped, folded at 75 octets and in UTC by ical-generator.
 * Someone else's reservation is `SUMMARY:Busy`, with no description. DTSTAMP and LAST-MODIFIED
 * are the reservation's last change, so the same state renders the same bytes (and ETag).
 */
export function renderFeed(name: string, events: readonly FeedEvent[]): string {
  const cal = calendar(name);
  for (const { reservation: r, revision, visible } of events) {
    // Neither occupies anything (the feed's query leaves both out).
    if (r.status === "cancelled" || r.status === "waiting") continue;
    cal.createEvent({
      id: r.id,
      start: toDate(r.start),
      end: toDate(r.end),
      stamp: toDate(r.updatedAt),
      lastModified: toDate(r.updatedAt),
      sequence: revision,
      summary: visible ? `${r.resourceId}: ${r.userId}` : "Busy",
      description: visible && r.note !== "" ? r.note : null,
      location: r.resourceId,
      status: STATUS[r.status],
    });
  }
  return terminated(cal.toString());
}

const utc = (us: Micros) =>
  toDate(us)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");

const period = (w: TimeWindow) => `${utc(w.start)}/${utc(w.end)}`;

/**
 * A VCALENDAR holding one VFREEBUSY for `range`: one FREEBUSY line per merged period, BUSY
 * or BUSY-TENTATIVE. ical-generator writes no VFREEBUSY, so the calendar (and its name's
 * escaping and folding) is its work, and the component's lines are written here: they hold
 * only fixed-width ASCII (times and keywords), each far below 75 octets.
 */
export function renderFreeBusy(
  name: string,
  uidSeed: string,
  range: TimeWindow,
  periods: FreeBusy,
  now: Micros,
): string {
  const uid = `${createHash("sha256").update(uidSeed).digest("hex").slice(0, 32)}@rsvp`;
  const lines = [
    "BEGIN:VFREEBUSY",
    `UID:${uid}`,
    `DTSTAMP:${utc(now)}`,
    `DTSTART:${utc(range.start)}`,
    `DTEND:${utc(range.end)}`,
    ...periods.busy.map((w) => `FREEBUSY;FBTYPE=BUSY:${period(w)}`),
    ...periods.tentative.map((w) => `FREEBUSY;FBTYPE=BUSY-TENTATIVE:${period(w)}`),
    "END:VFREEBUSY",
  ];
  const shell = terminated(calendar(name).toString());
  const end = "END:VCALENDAR\r\n";
  return `${shell.slice(0, -end.length)}${lines.join("\r\n")}\r\n${end}`;
}
