import type { Timeline } from "./timeline.js";
import type { TimelineActions } from "./timeline-drag.js";

/**
 * The keyboard in the timeline: arrows move between bars (left and right along a row, up and
 * down to the nearest bar in time on the next row that has one), Home and End go to a row's
 * first and last bar, Enter or Space opens the bar (it is a button), N books the hour after the
 * focused bar. Moving works on the data, not the built rows, so it reaches rows scrolled away.
 */
export class TimelineKeys {
  constructor(
    private readonly t: Timeline,
    private readonly actions: TimelineActions,
  ) {
    t.root.addEventListener("keydown", (e) => this.key(e));
    t.root.addEventListener("focus", (e) => {
      // Tabbing in lands on the active bar, scrolled into view.
      if (e.target === t.root && !t.root.contains(e.relatedTarget as Node | null)) this.enter();
    });
  }

  /** Focuses a reservation's bar, scrolling its row into view. */
  focus(id: string): boolean {
    const b = this.t.store.get(id);
    if (!b) return false;
    this.t.active = id;
    this.t.reveal(b.resourceId);
    const bar = this.t.barEl(id);
    if (!bar) return false;
    for (const other of this.t.body.querySelectorAll<HTMLElement>(".bar[tabindex='0']")) {
      other.tabIndex = -1;
    }
    bar.tabIndex = 0;
    this.t.root.tabIndex = -1;
    bar.focus({ preventScroll: true });
    bar.scrollIntoView({ block: "nearest", inline: "nearest" });
    return true;
  }

  private enter() {
    const first = this.t.rows.rows().find((r) => this.t.shown(r.resource).length > 0);
    const id = this.t.active ?? (first && this.t.shown(first.resource)[0]?.id);
    if (id && this.t.store.get(id)) this.focus(id);
  }

  private key(e: KeyboardEvent) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const id = (e.target as Element).closest<HTMLElement>(".bar")?.dataset.id;
    const current = id === undefined ? undefined : this.t.store.get(id);
    if (!current) {
      if (e.target === this.t.root && e.key.startsWith("Arrow")) {
        e.preventDefault();
        this.enter();
      }
      return;
    }
    const row = this.t.shown(current.resourceId);
    const at = row.findIndex((b) => b.id === current.id);
    let next: string | undefined;
    switch (e.key) {
      case "ArrowLeft":
        next = row[at - 1]?.id;
        break;
      case "ArrowRight":
        next = row[at + 1]?.id;
        break;
      case "Home":
        next = row[0]?.id;
        break;
      case "End":
        next = row[row.length - 1]?.id;
        break;
      case "ArrowUp":
      case "ArrowDown":
        next = this.nearestInNextRow(
          current.resourceId,
          current.start,
          e.key === "ArrowUp" ? -1 : 1,
        );
        break;
      case "n":
      case "N":
        this.actions.book(
          current.resourceId,
          current.end,
          current.end + (current.end - current.start),
        );
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    if (next) this.focus(next);
  }

  private nearestInNextRow(resource: string, at: number, step: 1 | -1): string | undefined {
    const rows = this.t.rows.rows();
    for (
      let i = rows.findIndex((r) => r.resource === resource) + step;
      i >= 0 && i < rows.length;
      i += step
    ) {
      const row = rows[i];
      const bars = row ? this.t.shown(row.resource) : [];
      if (bars.length === 0) continue;
      let best = bars[0];
      for (const b of bars)
        if (best && Math.abs(b.start - at) < Math.abs(best.start - at)) best = b;
      return best?.id;
    }
    return undefined;
  }
}
