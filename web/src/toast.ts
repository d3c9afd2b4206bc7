/** How long a message stays: longer when it offers something to do (Undo). */
const SHOW_MS = 5000;
const WITH_ACTION_MS = 10_000;

/**
 * Puts a message over the timeline's time axis, which holds no control: it covers no button,
 * field or bar on any screen (a message at the bottom would cover a phone's open panel).
 */
export function placeOverAxis(node: HTMLElement): void {
  const axis = document.querySelector("#timeline .axis")?.getBoundingClientRect();
  const timeline = document.getElementById("timeline")?.getBoundingClientRect();
  if (!axis || !timeline) return;
  node.style.top = `${timeline.top}px`;
  node.style.left = `${timeline.left}px`;
  node.style.width = `${timeline.width}px`;
  node.style.height = `${axis.height}px`;
}

/**
 * A short-lived message over the timeline's axis with at most one action (Undo). It stays
 * while focus or the pointer is on it, so a keyboard or screen reader user is not rushed.
 */
export class Toast {
  private timer = 0;
  private ms = SHOW_MS;

  constructor(private readonly root: HTMLElement) {
    for (const type of ["focusout", "mouseleave"] as const) {
      root.addEventListener(type, () => this.arm());
    }
    for (const type of ["focusin", "mouseenter"] as const) {
      root.addEventListener(type, () => window.clearTimeout(this.timer));
    }
    window.addEventListener("resize", () => {
      if (!this.root.hidden) placeOverAxis(this.root);
    });
  }

  /** Shows `text`; the action's button takes focus when `focus` is set. */
  show(text: string, action?: { label: string; run: () => void }, focus = false): void {
    const span = document.createElement("span");
    span.textContent = text;
    this.root.replaceChildren(span);
    if (action) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action.label;
      button.addEventListener("click", () => {
        this.hide();
        action.run();
      });
      this.root.append(button);
      if (focus) button.focus();
    }
    this.root.hidden = false;
    placeOverAxis(this.root);
    this.ms = action ? WITH_ACTION_MS : SHOW_MS;
    this.arm();
  }

  hide(): void {
    window.clearTimeout(this.timer);
    this.root.hidden = true;
  }

  private arm() {
    window.clearTimeout(this.timer);
    if (this.root.contains(document.activeElement)) return;
    this.timer = window.setTimeout(() => this.hide(), this.ms);
  }
}
