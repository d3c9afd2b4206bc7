import assert from "node:assert/strict";
import ICAL from "ical.js";

/** One fetched calendar: status, headers, body, and the body parsed by ical.js when 200. */
export interface FetchedCalendar {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly calendar: ICAL.Component | undefined;
}

/** GETs a calendar URL; a 200 body is parsed with ical.js (which throws on bad iCalendar). */
export async function fetchCalendar(
  url: string,
  headers: Record<string, string> = {},
): Promise<FetchedCalendar> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    calendar: res.status === 200 ? new ICAL.Component(ICAL.parse(text)) : undefined,
  };
}

/**
 * Asserts RFC 5545's line rules on raw bytes: every line ends in CRLF, none is longer than
 * 75 octets (a continuation's leading space included), and no fold splits a UTF-8 character
 * (each physical line is valid UTF-8 by itself).
 */
export function assertLineRules(text: string): void {
  const bytes = Buffer.from(text, "utf8");
  assert.ok(text.endsWith("\r\n"), "the last line ends in CRLF too");
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    assert.equal(bytes[i - 1], 0x0d, `a bare LF at byte ${i}`);
    const line = bytes.subarray(start, i - 1);
    assert.ok(line.length <= 75, `a line of ${line.length} octets: ${line.toString()}`);
    decoder.decode(line); // throws on a split character
    start = i + 1;
  }
}

/** The VEVENTs of a calendar, by UID. */
export function eventsById(calendar: ICAL.Component | undefined): Map<string, ICAL.Event> {
  assert.ok(calendar, "a calendar");
  const events = new Map<string, ICAL.Event>();
  for (const c of calendar.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(c);
    events.set(event.uid, event);
  }
  return events;
}
