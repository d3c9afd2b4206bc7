import { formatDay, formatLongDay, formatTime } from "./format.js";

/** How much time the timeline spans. */
export type Zoom = "day" | "week";

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

/** The day, or the Monday-to-Sunday week, that contains `ms`. */
export function viewContaining(ms: number, zoom: Zoom): View {
  // Calendar arithmetic on Date, not fixed 24-hour steps, so DST days stay aligned.
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  if (zoom === "week") d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  const from = d.getTime();
  d.setDate(d.getDate() + DAYS[zoom]);
  return { zoom, from, to: d.getTime() };
}

/** The view `steps` days or weeks away. */
export function shiftView(view: View, steps: number): View {
  const d = new Date(view.from);
  d.setDate(d.getDate() + steps * DAYS[view.zoom]);
  return viewContaining(d.getTime(), view.zoom);
}

/** A heading for the view. */
export function describeView(view: View): string {
  if (view.zoom === "day") return formatLongDay(view.from);
  return `${formatDay(view.from)} – ${formatDay(view.to - 1)}`;
}

/** Hourly lines labelled every two hours for a day; six-hourly lines labelled daily for a week. */
export function ticks(view: View): Tick[] {
  const stepHours = view.zoom === "day" ? 1 : 6;
  const out: Tick[] = [];
  const d = new Date(view.from);
  while (d.getTime() < view.to) {
    const h = d.getHours();
    const label =
      view.zoom === "day"
        ? h % 2 === 0
          ? formatTime(d.getTime())
          : ""
        : h === 0
          ? formatDay(d.getTime())
          : "";
    out.push({ at: d.getTime(), label });
    d.setHours(h + stepHours);
  }
  return out;
}

/** `#day/2030-01-07`: the view in the address, so it survives a reload and can be shared. */
export function viewToHash(view: View): string {
  const d = new Date(view.from);
  const date = [d.getFullYear(), d.getMonth() + 1, d.getDate()]
    .map((n, i) => String(n).padStart(i === 0 ? 4 : 2, "0"))
    .join("-");
  return `#${view.zoom}/${date}`;
}

/** The view a `viewToHash` address names, or undefined for any other hash. */
export function viewFromHash(hash: string): View | undefined {
  const m = /^#(day|week)\/(\d{4})-(\d{2})-(\d{2})$/.exec(hash);
  if (!m) return undefined;
  const [, zoom, y, mo, d] = m;
  const date = new Date(Number(y), Number(mo) - 1, Number(d));
  return Number.isNaN(date.getTime()) ? undefined : viewContaining(date.getTime(), zoom as Zoom);
}
