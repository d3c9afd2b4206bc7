/**
 * What a bar's text shows, from its width: the whole `Mon 3 Jun 08:00 – Thu 6 Jun 08:00 bob`
 * (a window over days), `10:00–11:00 bob`, `10:00 bob`, `10:00`, or nothing; and its note
 * only beside the user, whole or with at least {@link NOTE_MIN} letters before an ellipsis.
 * Never a few cut letters: what a bar cannot say is in its name, its tooltip and its details.
 */
export type Fit = "full" | "window" | "start-user" | "start" | "none";

/** The fewest letters of a note worth showing before its ellipsis. */
const NOTE_MIN = 6;
/** A bar's padding (6 px a side) and a pixel for the rounding of text widths. */
const INSET_PX = 13;

/** The width of `text` in the bar's font, bold (the time) or not. */
export type Measure = (text: string, bold: boolean) => number;

/** The bar's text, in the parts it can drop. */
export interface BarText {
  readonly mark: boolean;
  readonly day: string;
  readonly start: string;
  readonly end: string;
  readonly user: string;
  readonly note: string;
}

/** The fullest form of `text` that fits `px`, and whether the note shows. */
export function fitBar(text: BarText, px: number, measure: Measure): { fit: Fit; note: boolean } {
  const room = px - INSET_PX;
  const mark = text.mark ? measure("↻", true) + 3 : 0;
  const start = mark + measure(text.start, true);
  const end = measure(text.end, true);
  const user = measure(` ${text.user}`, false);
  const options: Array<[Fit, number]> = [
    ["full", start + measure(text.day, true) + end + user],
    ["window", start + end + user],
    ["start-user", start + user],
    ["start", start],
  ];
  const found = options.find(([fit, w]) => w <= room && (fit !== "full" || text.day !== ""));
  const fit = found?.[0] ?? "none";
  const withUser = fit !== "start" && fit !== "none";
  const note =
    withUser &&
    text.note !== "" &&
    (measure(text.note, false) <= room ||
      measure(`${[...text.note].slice(0, NOTE_MIN).join("")}…`, false) <= room);
  return { fit, note };
}

let canvas: CanvasRenderingContext2D | null | undefined;

/** Measures text in `font` (a bar's computed font) with a canvas: no layout, no reflow. */
export function measureIn(font: { family: string; size: string }): Measure {
  canvas ??= document.createElement("canvas").getContext("2d");
  const widths = new Map<string, number>();
  return (text, bold) => {
    const key = `${bold ? 1 : 0}${text}`;
    let w = widths.get(key);
    if (w === undefined) {
      if (!canvas) return text.length * 8; // no canvas: a generous guess
      canvas.font = `${bold ? 600 : 400} ${font.size} ${font.family}`;
      w = canvas.measureText(text).width;
      widths.set(key, w);
    }
    return w;
  };
}
