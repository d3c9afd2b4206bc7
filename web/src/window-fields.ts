import { parseTimeValue, toTimeValue } from "./format.js";
import type { Window } from "./free-slots.js";
import { atHour, fromDateValue, startOfDay, toDateValue } from "./view.js";

/** A day field and two 24-hour time fields that together name a window. */
export interface WindowFields {
  readonly day: HTMLInputElement;
  readonly from: HTMLInputElement;
  readonly to: HTMLInputElement;
}

/** The named input of a form. */
export function input(form: HTMLFormElement, name: string): HTMLInputElement {
  const node = form.elements.namedItem(name);
  if (node instanceof HTMLInputElement) return node;
  throw new Error(`the form ${form.id} has no input ${name}`);
}

/** Shows `w` in the fields; a window ending at midnight ends at `24:00` of its day. */
export function fillWindow(f: WindowFields, w: Window): void {
  f.day.value = toDateValue(w.start);
  f.from.value = toTimeValue(w.start);
  const endsAtMidnight = w.end === atHour(startOfDay(w.start), 24);
  f.to.value = endsAtMidnight ? "24:00" : toTimeValue(w.end);
}

/** The window the fields name, or what is wrong with them. */
export function readWindow(f: WindowFields): Window | string {
  const day = fromDateValue(f.day.value);
  const from = parseTimeValue(f.from.value);
  const to = parseTimeValue(f.to.value);
  if (day === undefined) return "Pick a day.";
  if (from === undefined || to === undefined) return "Write times on a 24-hour clock, like 09:30.";
  if (to <= from) return "The end must be after the start.";
  return { start: atHour(day, from / 60), end: atHour(day, to / 60) };
}
