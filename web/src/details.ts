import { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import type { Rsvp } from "./api.js";
import { statusName, toBooking } from "./booking.js";
import { describeError } from "./describe-error.js";
import { formatWindow } from "./format.js";
import type { Store } from "./store.js";

/** The selected reservation: what it is, and buttons to confirm or cancel it. */
export class Details {
  private id: string | undefined;
  private error = "";

  constructor(
    private readonly root: HTMLElement,
    private readonly store: Store,
    private readonly client: Rsvp,
  ) {
    store.subscribe(() => this.render());
    this.render();
  }

  /** Shows one reservation (or a hint when none is selected). */
  show(id: string | undefined): void {
    this.id = id;
    this.error = "";
    this.render();
  }

  private async act(action: "confirm" | "cancel", id: string) {
    this.error = "";
    try {
      const res = await this.client[action]({ id });
      if (res.reservation) this.store.apply(toBooking(res.reservation));
    } catch (err) {
      this.error = describeError(err);
    }
    this.render();
  }

  private render() {
    const b = this.id === undefined ? undefined : this.store.get(this.id);
    const heading = document.createElement("h2");
    heading.textContent = "Selected reservation";
    if (!b) {
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "Click a bar on the timeline to see it here.";
      this.root.replaceChildren(heading, hint);
      return;
    }
    const facts = document.createElement("dl");
    const rows: Array<[string, string]> = [
      ["Resource", b.resourceId],
      ["User", b.userId],
      ["When", formatWindow(b.start, b.end)],
      ["Status", statusName(b.status)],
    ];
    if (b.note) rows.push(["Note", b.note]);
    for (const [term, value] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      facts.append(dt, dd);
    }
    const confirm = this.button("Confirm", b.status === ReservationStatus.PENDING, () =>
      this.act("confirm", b.id),
    );
    const cancel = this.button("Cancel reservation", b.status !== ReservationStatus.CANCELLED, () =>
      this.act("cancel", b.id),
    );
    cancel.classList.add("danger");
    const actions = document.createElement("div");
    actions.className = "actions";
    actions.append(confirm, cancel);
    const error = document.createElement("p");
    error.className = "message error";
    error.textContent = this.error;
    if (this.error) error.setAttribute("role", "alert");
    this.root.replaceChildren(heading, facts, actions, error);
  }

  private button(text: string, enabled: boolean, onClick: () => void): HTMLButtonElement {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.disabled = !enabled;
    button.addEventListener("click", () => {
      button.disabled = true;
      onClick();
    });
    return button;
  }
}
