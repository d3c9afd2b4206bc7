import { el } from "./dom.js";
import { dayParts, formatDay } from "./format.js";
import { ticks, type View } from "./view.js";

/** Places a node at a window of the view (left and width in % of the lane). */
type Place = (node: HTMLElement, start: number, end: number) => void;

/** The time axis: labels in the sticky header, grid lines down the rows, and the "now" line. */
export class TimelineAxis {
  /** The header's labels. */
  readonly lane = el("div", "axis-lane");
  /** The lines behind the rows. */
  readonly grid = el("div", "grid");
  private readonly now = el("div", "now");

  constructor(private readonly place: Place) {}

  /** Draws the ticks of `view`. */
  draw(view: View): void {
    this.lane.replaceChildren();
    const lines: HTMLElement[] = [];
    for (const tick of ticks(view)) {
      const line = el("div", tick.label ? "tick major" : "tick");
      this.place(line, tick.at, tick.at);
      lines.push(line);
      if (!tick.label) continue;
      if (view.zoom === "week") {
        this.lane.append(this.dayHeading(tick.at));
        continue;
      }
      const text = el("span", "tick-label", tick.label);
      this.place(text, tick.at, tick.at);
      text.style.width = "";
      this.lane.append(text);
    }
    this.grid.replaceChildren(...lines, this.now);
    this.placeNow(view);
  }

  /**
   * A week's day heading, a day wide: `Mon 31 Dec`, on a narrow day `Mon` over `31` (as phone
   * calendars head their days), never running into the next day's.
   */
  private dayHeading(day: number): HTMLElement {
    const { weekday, day: date, month } = dayParts(day);
    const heading = el("span", "tick-label day-label");
    heading.append(
      el("span", "day-weekday", weekday),
      " ",
      el("span", "day-date", date),
      " ",
      el("span", "day-month", month),
    );
    heading.setAttribute("aria-label", formatDay(day));
    const next = new Date(day);
    next.setDate(next.getDate() + 1);
    this.place(heading, day, next.getTime());
    return heading;
  }

  /** The red line at the current time, when it is in view. */
  placeNow(view: View): void {
    const t = Date.now();
    const inView = t >= view.from && t < view.to;
    this.now.hidden = !inView;
    if (inView) this.place(this.now, t, t);
  }
}
