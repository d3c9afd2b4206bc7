/** A panel of the side column (a bottom sheet on a phone). */
export type Panel = "details" | "book" | "find" | "resources" | "access";

/**
 * The side column shows one panel at a time: a bar's details or a tool. On a narrow screen it is
 * a bottom sheet that opens with a panel and closes with × or Esc; closing gives focus back to
 * whatever opened it.
 */
export class Panels {
  private opener: HTMLElement | undefined;

  constructor(
    private readonly sheet: HTMLElement,
    private readonly fallbackFocus: () => void,
  ) {
    for (const button of document.querySelectorAll<HTMLButtonElement>("[data-panel]")) {
      button.addEventListener("click", () => this.open(button.dataset.panel as Panel));
    }
    sheet.querySelector("#sheet-close")?.addEventListener("click", () => this.close());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && (this.isOpen() || sheet.contains(document.activeElement))) {
        e.preventDefault();
        this.close();
      }
    });
    this.show("book");
  }

  /** Shows `panel`, opening the sheet, and moves focus into it (its first field). */
  open(panel: Panel, focus: HTMLElement | null = null): void {
    const active = document.activeElement;
    if (active instanceof HTMLElement && !this.sheet.contains(active)) this.opener = active;
    this.show(panel);
    this.sheet.classList.add("open");
    document.body.classList.add("sheet-open");
    const card = this.card(panel);
    const target =
      focus ??
      card?.querySelector<HTMLElement>("input:not([type=hidden]), select, button:not(:disabled)");
    target?.focus({ preventScroll: true });
    card?.scrollIntoView({ block: "nearest" });
  }

  /** Closes the sheet; focus goes back to what opened it. */
  close(): void {
    this.sheet.classList.remove("open");
    document.body.classList.remove("sheet-open");
    const opener = this.opener;
    this.opener = undefined;
    if (opener?.isConnected) opener.focus();
    else this.fallbackFocus();
  }

  isOpen(): boolean {
    return this.sheet.classList.contains("open");
  }

  /** The panel on show. */
  current(): Panel | undefined {
    return this.sheet.querySelector<HTMLElement>(".card.active")?.dataset.card as Panel | undefined;
  }

  private card(panel: Panel) {
    return this.sheet.querySelector<HTMLElement>(`[data-card="${panel}"]`);
  }

  private show(panel: Panel) {
    for (const card of this.sheet.querySelectorAll<HTMLElement>(".card")) {
      card.classList.toggle("active", card.dataset.card === panel);
    }
    for (const button of document.querySelectorAll<HTMLButtonElement>("[data-panel]")) {
      button.setAttribute("aria-pressed", String(button.dataset.panel === panel));
    }
  }
}
