import type { Micros } from "./reservation.js";

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: the range protobuf Timestamps allow. */
export const MIN_MICROS: Micros = -62135596800000000n;
export const MAX_MICROS: Micros = 253402300800000000n;

/** Formats exact microseconds as RFC 3339 UTC with six fraction digits (what Postgres parses). */
export function microsToIso(us: Micros): string {
  const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
  const subMs = us - ms * 1000n;
  const iso = new Date(Number(ms)).toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ
  return `${iso.slice(0, -1)}${subMs.toString().padStart(3, "0")}Z`;
}

/** RFC 3339 UTC for people: the fraction only as long as it needs to be. */
export function formatInstant(us: Micros): string {
  return microsToIso(us).replace(/\.?0+Z$/, "Z");
}

/** A half-open window for people: `[start, end)`. */
export function formatWindow(w: { start: Micros; end: Micros }): string {
  return `[${formatInstant(w.start)}, ${formatInstant(w.end)})`;
}
