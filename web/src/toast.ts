const SHOW_MS = 10_000;

/**
 * A short-lived message at the bottom of the page with at most one action (Undo). It stays
 * while focus or the pointer is on it, so a keyboard or screen reader user is not rushed.
 */
export class Toast {
  private timer = 0;

  constructor(private readonly root: HTMLElement) {
    for (const type of ["focusout", "mouseleave"] as const) {
      root.addEventListener(type, () => this.arm());
    }
    for (const type of ["focusin", "mouseenter"] as const) {
      root.addEventListener(type, () => window.clearTimeout(this.timer));
    }
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
    this.arm();
  }

  hide(): void {
    window.clearTimeout(this.timer);
    this.root.hidden = true;
  }

  private arm() {
    window.clearTimeout(this.timer);
    if (this.root.contains(document.activeElement)) return;
    this.timer = window.setTimeout(() => this.hide(), SHOW_MS);
  }
}
