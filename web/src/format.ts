// Times are shown in the browser's zone and locale, always on a 24-hour clock.
const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
});
const rangeFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
});

const dayPartsFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
});

/** `Tue`, `1`, `Jan`: a day's parts, for a heading that drops the month when narrow. */
export function dayParts(ms: number): { weekday: string; day: string; month: string } {
  const parts = dayPartsFormat.formatToParts(ms);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? "";
  return { weekday: part("weekday"), day: part("day"), month: part("month") };
}

/** `10:00` */
export const formatTime = (ms: number): string => timeFormat.format(ms);

/** `Tue 1 Jan` */
export const formatDay = (ms: number): string => dayFormat.format(ms);

/** `Tuesday 1 January 2030` */
export const formatLongDay = (ms: number): string => rangeFormat.format(ms);

function sameDay(a: number, b: number): boolean {
  return new Date(a).toDateString() === new Date(b).toDateString();
}

/** A half-open window for people: `10:00–11:00 on Tue 1 Jan`, or both days when it spans more. */
export function formatWindow(start: number, end: number): string {
  // The end is exclusive: a window ending at midnight belongs to the day before.
  if (sameDay(start, end - 1)) {
    return `${formatTime(start)}–${formatTime(end)} on ${formatDay(start)}`;
  }
  return `${formatDay(start)} ${formatTime(start)} – ${formatDay(end)} ${formatTime(end)}`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `14:30`: the 24-hour clock time of an instant, as the page's time fields take it. */
export function toTimeValue(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * Minutes after midnight for a 24-hour `14:30` (or `9`, `930`, `9.30`), `24:00` included; undefined
 * for anything else. Text fields rather than `type=time`, whose clock follows the browser's
 * locale (AM/PM in en-US) while the axis is 24-hour.
 */
export function parseTimeValue(value: string): number | undefined {
  const m = /^\s*(\d{1,2})(?:[:.h]?(\d{2}))?\s*$/.exec(value);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2] ?? 0);
  if (min > 59 || h > 24 || (h === 24 && min > 0)) return undefined;
  return h * 60 + min;
}

/** `1h30`, `45 min`, `2h`: a short duration for people. */
export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return `${m} min`;
  return m === 0 ? `${h}h` : `${h}h${pad(m)}`;
}
