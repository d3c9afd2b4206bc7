import type { Hours } from "./view.js";

/** What the page remembers in this browser (localStorage), read and written as a whole. */
export interface Settings {
  /** The working hours a day view shows. */
  hours: Hours;
  /** Pixels per hour in a day view; 0 fits the hours to the width; -1 (auto) is wide enough
   *  for an hour's bar to show its time, user and note. */
  hourWidth: number;
  /** Resources the user added, shown as rows even without a booking. */
  resources: string[];
}

const KEY = "rsvp.settings";
const DEFAULTS: Settings = { hours: { start: 7, end: 20 }, hourWidth: -1, resources: [] };

const isHour = (n: unknown): n is number =>
  Number.isInteger(n) && Number(n) >= 0 && Number(n) <= 24;

/** The saved settings, or the defaults for anything missing or malformed. */
export function loadSettings(): Settings {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "{}") as Partial<Settings>;
    const h = saved.hours;
    return {
      hours: h && isHour(h.start) && isHour(h.end) && h.start < h.end ? h : DEFAULTS.hours,
      hourWidth: typeof saved.hourWidth === "number" ? saved.hourWidth : DEFAULTS.hourWidth,
      resources: Array.isArray(saved.resources)
        ? saved.resources.filter((r): r is string => typeof r === "string")
        : [],
    };
  } catch {
    return { ...DEFAULTS, resources: [] }; // storage disabled or garbage: start afresh
  }
}

/** Saves the settings; without storage they last until the page closes. */
export function saveSettings(settings: Settings): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(settings));
  } catch {
    // storage disabled or full: the settings still apply to this page
  }
}
