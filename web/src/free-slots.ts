import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Rsvp } from "./api.js";

/** A time window `[start, end)` in epoch milliseconds. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

const WEEK_MS = 7 * 24 * 3_600_000;

/** A free window and the resource it is free on. */
export interface FreeWindow extends Window {
  readonly resource: string;
}

/**
 * The free windows within `range` at least `minMs` long, from `available`: of one resource, or
 * of every resource of a pool (each naming its resource, by start then resource).
 */
export async function freeWindows(
  client: Rsvp,
  resource: string,
  range: Window,
  minMs = 0,
  pool = "",
): Promise<FreeWindow[]> {
  const res = await client.available({
    ...(pool ? { pool } : { resourceId: resource }),
    start: timestampFromMs(range.start),
    end: timestampFromMs(range.end),
    minDuration: durationFromMs(minMs),
  });
  return res.windows.map((w) => ({
    resource: w.resourceId || resource,
    start: w.start ? timestampMs(w.start) : range.start,
    end: w.end ? timestampMs(w.end) : range.end,
  }));
}

/**
 * The first window of `durationMs` free on `resource` at or after `from`, looking a week ahead;
 * undefined when there is none, or when the service will not say.
 */
export async function nextFree(
  client: Rsvp,
  resource: string,
  from: number,
  durationMs: number,
): Promise<Window | undefined> {
  try {
    const [first] = await freeWindows(
      client,
      resource,
      { start: from, end: from + WEEK_MS },
      durationMs,
    );
    return first && { start: first.start, end: first.start + durationMs };
  } catch {
    return undefined; // the offer is a courtesy: the clash itself is already explained
  }
}
