import { formatDay, formatLongDay, formatTime } from "./format.js";

/** How much time the timeline spans. */
export type Zoom = "day" | "week";

/** The working hours a day view shows, `[start, end)` in whole hours of the local day. */
export interface Hours {
  readonly start: number;
  readonly end: number;
}

/** The whole day: 00:00–24:00. */
export const ALL_DAY: Hours = { start: 0, end: 24 };

/** The visible time range `[from, to)` in epoch milliseconds, local-calendar aligned. */
export interface View {
  readonly zoom: Zoom;
  readonly from: number;
  readonly to: number;
}

/** A vertical grid line; labelled ones also get text on the axis. */
export interface Tick {
  readonly at: number;
  readonly label: string;
}

const DAYS: Record<Zoom, number> = { day: 1, week: 7 };

/** Local midnight of the day containing `ms`. */
export function startOfDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** `hours` (may be fractional or 24) into the local day starting at midnight `day`. */
export function atHour(day: number, hours: number): number {
  // Calendar arithmetic on Date, not fixed 24-hour steps, so DST days stay aligned.
  const d = new Date(day);
  d.setHours(Math.floor(hours), Math.round((hours % 1) * 60), 0, 0);
  return d.getTime();
}

/**
 * The day (its working `hours`), or the whole Monday-to-Sunday week, that contains `ms`.
 */
export function viewContaining(ms: number, zoom: Zoom, hours: Hours = ALL_DAY): View {
  const d = new Date(startOfDay(ms));
  if (zoom === "day")
    return { zoom, from: atHour(d.getTime(), hours.start), to: atHour(d.getTime(), hours.end) };
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  const from = d.getTime();
  d.setDate(d.getDate() + DAYS[zoom]);
  return { zoom, from, to: d.getTime() };
}

/** What a view loads: the whole day of a day view (bookings outside its hours widen it). */
export function loadedRange(view: View): { from: number; to: number } {
  if (view.zoom === "week") return view;
  const from = startOfDay(view.from);
  const next = new Date(from);
  next.setDate(next.getDate() + 1);
  return { from, to: next.getTime() };
}

/**
 * A day view widened, in whole hours, to show every one of `windows` on its day: a booking at
 * 04:00 moves the start of 07–20 to 04:00, as a calendar shows what exists. A week shows
 * whole days already.
 */
export function widened(view: View, windows: Iterable<{ start: number; end: number }>): View {
  if (view.zoom === "week") return view;
  const day = loadedRange(view);
  let { from, to } = view;
  for (const w of windows) {
    if (w.end <= day.from || w.start >= day.to) continue;
    if (w.start < from) from = floorHour(Math.max(w.start, day.from));
    if (w.end > to) to = ceilHour(Math.min(w.end, day.to));
  }
  return from === view.from && to === view.to ? view : { zoom: view.zoom, from, to };
}

function floorHour(ms: number): number {
  const d = new Date(ms);
  d.setMinutes(0, 0, 0);
  return d.getTime();
}

function ceilHour(ms: number): number {
  const floor = floorHour(ms);
  if (floor === ms) return ms;
  const d = new Date(floor);
  d.setHours(d.getHours() + 1);
  return d.getTime();
}

/** The view `steps` days or weeks away. */
export function shiftView(view: View, steps: number, hours: Hours = ALL_DAY): View {
  const d = new Date(view.from);
  d.setDate(d.getDate() + steps * DAYS[view.zoom]);
  return viewContaining(d.getTime(), view.zoom, hours);
}

/** A heading for the view. */
export function describeView(view: View): string {
  if (view.zoom === "day") return formatLongDay(view.from);
  return `${formatDay(view.from)} – ${formatDay(view.to - 1)}`;
}

/** Hourly lines, each labelled, for a day; six-hourly lines labelled daily for a week. */
export function ticks(view: View): Tick[] {
  const stepHours = view.zoom === "day" ? 1 : 6;
  const out: Tick[] = [];
  const d = new Date(view.from);
  while (d.getTime() < view.to) {
    const h = d.getHours();
    const label =
      view.zoom === "day" ? formatTime(d.getTime()) : h === 0 ? formatDay(d.getTime()) : "";
    out.push({ at: d.getTime(), label });
    d.setHours(h + stepHours);
  }
  return out;
}

/** `2030-01-07`: the local date of an instant, as a `date` input and the address take it. */
export function toDateValue(ms: number): string {
  const d = new Date(ms);
  return [d.getFullYear(), d.getMonth() + 1, d.getDate()]
    .map((n, i) => String(n).padStart(i === 0 ? 4 : 2, "0"))
    .join("-");
}

/** Local midnight of a `2030-01-07` date, or undefined when it is not one. */
export function fromDateValue(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d] = m;
  const ms = new Date(Number(y), Number(mo) - 1, Number(d)).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** `#day/2030-01-07`: the view in the address, so it survives a reload and can be shared. */
export function viewToHash(view: View): string {
  return `#${view.zoom}/${toDateValue(view.from)}`;
}

/** The view a `viewToHash` address names, or undefined for any other hash. */
export function viewFromHash(hash: string, hours: Hours = ALL_DAY): View | undefined {
  const m = /^#(day|week)\/(.+)$/.exec(hash);
  const day = m?.[2] === undefined ? undefined : fromDateValue(m[2]);
  return day === undefined ? undefined : viewContaining(day, m?.[1] as Zoom, hours);
}
