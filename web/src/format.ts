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

/** The value a `datetime-local` input takes for a local instant, to the minute. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Parses a `datetime-local` value (local time, no zone) to epoch milliseconds. */
export function fromLocalInput(value: string): number | undefined {
  const ms = new Date(value).getTime();
  return value === "" || Number.isNaN(ms) ? undefined : ms;
}
