import { type Booking, statusName } from "./booking.js";
import { formatDay, formatTime, formatWindow } from "./format.js";

const sameDay = (a: number, b: number) =>
  new Date(a).toDateString() === new Date(b - 1).toDateString();

/** `10:00–11:00`, with the days when the window spans more than one. */
export function barWindow(b: Pick<Booking, "start" | "end">): string {
  return sameDay(b.start, b.end)
    ? `${formatTime(b.start)}–${formatTime(b.end)}`
    : formatWindow(b.start, b.end);
}

/**
 * What a screen reader says for a bar: `room-2, 10:00–11:00, bob, confirmed`; in a week view
 * the day comes first, since the axis is out of earshot.
 */
export function barName(b: Booking, withDay: boolean): string {
  const when =
    withDay && sameDay(b.start, b.end) ? `${formatDay(b.start)} ${barWindow(b)}` : barWindow(b);
  return `${b.resourceId}, ${when}, ${b.userId}, ${statusName(b.status)}`;
}

/**
 * A bar's window in the pieces it can drop as it narrows: `10:00` `–11:00`, or for a window
 * over several days `Mon 3 Jun ` `08:00` ` – Thu 6 Jun 08:00`.
 */
export function barParts(b: Pick<Booking, "start" | "end">): {
  day: string;
  start: string;
  end: string;
} {
  if (sameDay(b.start, b.end))
    return { day: "", start: formatTime(b.start), end: `–${formatTime(b.end)}` };
  return {
    day: `${formatDay(b.start)} `,
    start: formatTime(b.start),
    end: ` – ${formatDay(b.end)} ${formatTime(b.end)}`,
  };
}
