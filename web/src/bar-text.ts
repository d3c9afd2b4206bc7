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
