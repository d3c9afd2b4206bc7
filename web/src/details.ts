import { type Reservation, ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import type { Rsvp } from "./api.js";
import { barWindow } from "./bar-text.js";
import { type Booking, occupies, statusName, toBooking } from "./booking.js";
import { describeError } from "./describe-error.js";
import { editForm, keyed as el } from "./details-edit.js";
import { formatTime, formatWindow } from "./format.js";
import type { Window } from "./free-slots.js";
import { describeGroup, GroupMembers } from "./group-members.js";
import type { Store } from "./store.js";
import type { Clash } from "./timeline-drag.js";
import { readWindow } from "./window-fields.js";

/** What the details panel asks of the page. */
export interface DetailsActions {
  reschedule(
    b: Booking,
    start: number,
    end: number,
    note: string | undefined,
  ): Promise<Clash | undefined>;
  /** Reservations were cancelled from the panel (offer an undo), in start order. */
  cancelled(before: readonly Booking[]): void;
}

/**
 * The selected reservation: what it is, fields to move it or change its note, and buttons to
 * confirm or cancel it. It is redrawn only when the reservation itself changes, and keeps focus
 * on the same control across a redraw.
 */
export class Details {
  private id: string | undefined;
  private drawn = "";
  private error = "";
  private offer: HTMLButtonElement | undefined;
  /** The control acted on last: it keeps focus across the redraw its action causes. */
  private focusAfter: string | undefined;
  private readonly groups: GroupMembers;

  constructor(
    private readonly root: HTMLElement,
    private readonly store: Store,
    private readonly client: Rsvp,
    private readonly actions: DetailsActions,
  ) {
    this.groups = new GroupMembers(client, () => this.render());
    store.subscribe(() => this.render());
    this.render();
  }

  /** Shows one reservation (or a hint when none is selected). */
  show(id: string | undefined): void {
    this.id = id;
    this.error = "";
    this.offer = undefined;
    this.drawn = "";
    const groupId = id === undefined ? "" : (this.store.get(id)?.groupId ?? "");
    if (groupId) this.groups.forget(groupId); // its count may have changed since last shown
    this.render();
  }

  private fail(message: string, offer?: HTMLButtonElement) {
    this.error = message;
    this.offer = offer;
    this.drawn = "";
    this.render();
  }

  /** Applies the reservation a call answers with; a refusal is shown. Whether it succeeded. */
  private async settle(call: Promise<{ reservation?: Reservation }>): Promise<boolean> {
    try {
      const res = await call;
      if (res.reservation) this.store.apply(toBooking(res.reservation));
      return true;
    } catch (err) {
      this.fail(describeError(err));
      return false;
    }
  }

  private async confirm(b: Booking) {
    await this.settle(this.client.confirm({ id: b.id }));
  }

  /** The owner shows up; too early or too late the service says when it opens or ended. */
  private async checkIn(b: Booking) {
    await this.settle(this.client.checkIn({ id: b.id }));
  }

  private async cancel(b: Booking) {
    if (await this.settle(this.client.cancel({ id: b.id }))) this.actions.cancelled([b]);
  }

  /**
   * "This and following": the service cancels this one and every later live one of its group in
   * one transaction; the page shows them cancelled at once (the live feed confirms each).
   */
  private async cancelFollowing(b: Booking) {
    try {
      const members = await this.groups.load(b.groupId);
      const following = members.filter((m) => m.start >= b.start);
      await this.client.cancel({ id: b.id, following: true });
      for (const m of following) this.store.apply({ ...m, status: ReservationStatus.CANCELLED });
      this.groups.forget(b.groupId);
      this.actions.cancelled(following);
    } catch (err) {
      this.fail(describeError(err));
    }
  }

  private async save(b: Booking, form: HTMLFormElement) {
    const fields = {
      day: form.elements.namedItem("day") as HTMLInputElement,
      from: form.elements.namedItem("from") as HTMLInputElement,
      to: form.elements.namedItem("to") as HTMLInputElement,
    };
    const w = readWindow(fields);
    if (typeof w === "string") return this.fail(w);
    const note = (form.elements.namedItem("note") as HTMLInputElement).value.trim();
    await this.move(b, w, note === b.note ? undefined : note);
  }

  /** Reschedules; a clash is shown with a button to take the offered window instead. */
  private async move(b: Booking, w: Window, note: string | undefined) {
    const clash = await this.actions.reschedule(b, w.start, w.end, note);
    if (!clash) return this.fail("");
    const { offer } = clash;
    const button = offer ? el("button", `Move to ${barWindow(offer)}`, "offer") : undefined;
    button?.addEventListener("click", () => {
      this.focusAfter = "save";
      if (offer) void this.move(b, offer, note);
    });
    this.fail(clash.message, button);
  }

  private render() {
    const b = this.id === undefined ? undefined : this.store.get(this.id);
    const members = b?.groupId ? this.groups.get(b.groupId) : undefined;
    const state = JSON.stringify([b, this.error, members?.length]);
    if (state === this.drawn) return;
    this.drawn = state;
    const focusKey = this.root.contains(document.activeElement)
      ? (document.activeElement as HTMLElement).dataset.key
      : this.focusAfter;
    this.focusAfter = undefined;
    const heading = el("h2", b ? `${b.resourceId} · ${barWindow(b)}` : "Selected reservation");
    heading.tabIndex = -1;
    if (!b) {
      const hint = el(
        "p",
        "Click a bar, or an empty slot to book it. Keyboard: Tab into the timeline, arrows, Enter.",
      );
      hint.className = "hint";
      this.root.replaceChildren(heading, hint);
      return;
    }
    const facts = el("dl");
    const rows: Array<[string, string]> = [
      ["When", formatWindow(b.start, b.end)],
      ["User", b.userId],
      ["Status", statusName(b.status)],
    ];
    if (b.status === ReservationStatus.WAITING) {
      rows.push(["Waiting", "for the window to free: it is booked then, oldest wait first"]);
    }
    if (b.checkedInAt !== undefined) rows.push(["Checked in", formatTime(b.checkedInAt)]);
    if (b.cancelReason) rows.push(["Reason", b.cancelReason]);
    if (b.groupId) rows.push(members ? describeGroup(members) : ["Group", "Part of a group"]);
    for (const [term, value] of rows) facts.append(el("dt", term), el("dd", value));
    const live = b.status !== ReservationStatus.CANCELLED;
    const actions = el("div");
    actions.className = "actions";
    const confirm = this.button("Confirm", b.status === ReservationStatus.PENDING, () =>
      this.confirm(b),
    );
    const cancel = this.button("Cancel reservation", live, () => this.cancel(b));
    cancel.classList.add("danger");
    const checkable =
      occupies(b) &&
      b.status !== ReservationStatus.BLOCKED &&
      b.checkedInAt === undefined &&
      Date.now() < b.end;
    const checkIn = this.button("Check in", checkable, () => this.checkIn(b));
    actions.append(confirm, checkIn, cancel);
    if (b.groupId) {
      const following = this.button("Cancel this and following", live, () =>
        this.cancelFollowing(b),
      );
      following.classList.add("danger");
      actions.append(following);
    }
    const error = el("div", this.error);
    error.className = "message error";
    if (this.offer) error.append(" ", this.offer);
    if (this.error) error.setAttribute("role", "alert");
    this.root.replaceChildren(
      heading,
      facts,
      actions,
      editForm(b, occupies(b), {
        submit: (form) => void this.save(b, form),
        saving: () => {
          this.focusAfter = "save";
        },
      }),
      error,
    );
    if (focusKey === undefined) return;
    // A control its own action disabled (Confirm, once confirmed) hands focus to the heading.
    const again = this.root.querySelector<HTMLButtonElement>(`[data-key="${focusKey}"]`);
    if (again && !again.disabled) again.focus();
    else heading.focus();
  }

  private button(text: string, enabled: boolean, onClick: () => Promise<void>): HTMLButtonElement {
    const button = el("button", text, text);
    button.type = "button";
    button.disabled = !enabled;
    button.addEventListener("click", () => {
      this.focusAfter = text;
      button.disabled = true;
      void onClick().finally(() => {
        if (button.isConnected) button.disabled = false;
      });
    });
    return button;
  }
}
