import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import type { Rsvp } from "./api.js";
import { barWindow } from "./bar-text.js";
import { type Booking, toBooking } from "./booking.js";
import { describeError } from "./describe-error.js";
import { formatWindow } from "./format.js";
import { nextFree, type Window } from "./free-slots.js";
import type { RowModel } from "./rows.js";
import { loadToken } from "./token.js";
import { fillWindow, input, readWindow, type WindowFields } from "./window-fields.js";

/**
 * The booking form: opened from a slot with the resource and window filled in (24-hour times on
 * the day of the slot), it sends `reserve`. A clash says what is in the way and offers the next
 * free window of the same length; a resource name that only differs in spelling from a known
 * one (`Room 2` for `room-2`) is questioned rather than made into a new row.
 */
export class BookForm {
  private readonly resource: HTMLInputElement;
  private readonly user: HTMLInputElement;
  private readonly note: HTMLInputElement;
  private readonly status: HTMLSelectElement;
  private readonly fields: WindowFields;
  /** The user changed a field since the form was last filled. */
  private edited = false;

  constructor(
    private readonly form: HTMLFormElement,
    private readonly message: HTMLElement,
    private readonly client: Rsvp,
    private readonly rows: RowModel,
    private readonly onReserved: (b: Booking) => void,
  ) {
    this.resource = input(form, "resource");
    this.user = input(form, "user");
    this.note = input(form, "note");
    this.fields = { day: input(form, "day"), from: input(form, "from"), to: input(form, "to") };
    this.status = form.elements.namedItem("status") as HTMLSelectElement;
    // With a token the service takes an empty user as the token's own.
    if (loadToken()) {
      this.user.required = false;
      this.user.placeholder = "you (from the token)";
    }
    form.addEventListener("input", () => {
      this.edited = true;
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
  }

  /** True when the user has typed into the form since it was last filled. */
  isEdited(): boolean {
    return this.edited;
  }

  /** Starts a fresh booking: the slot's resource and window, no note, no old message. */
  fill(resource: string, w: Window): void {
    this.resource.value = resource;
    fillWindow(this.fields, w);
    this.note.value = "";
    this.status.value = "1";
    this.say("", "ok");
    this.edited = false;
  }

  /** The field a person most likely wants to type in next. */
  firstEmpty(): HTMLInputElement {
    if (!this.resource.value) return this.resource;
    return this.user.required && !this.user.value ? this.user : this.note;
  }

  private say(text: string, kind: "ok" | "error", offer?: HTMLButtonElement) {
    this.message.replaceChildren(text, ...(offer ? [" ", offer] : []));
    this.message.className = `message ${kind}`;
    if (text) this.message.setAttribute("role", kind === "error" ? "alert" : "status");
    else this.message.removeAttribute("role");
  }

  private async submit() {
    const w = readWindow(this.fields);
    if (typeof w === "string") return this.say(w, "error");
    const resource = this.resource.value.trim();
    const meant = this.rows.likelyMeant(resource);
    if (meant) {
      this.resource.value = meant;
      return this.say(
        `No resource is called “${resource}”; did you mean ${meant}? Changed it: press Reserve again.`,
        "error",
      );
    }
    const submit = this.form.querySelector<HTMLButtonElement>("button[type=submit]");
    if (submit) submit.disabled = true;
    try {
      const res = await this.client.reserve({
        reservation: {
          resourceId: resource,
          userId: this.user.value.trim(),
          start: timestampFromMs(w.start),
          end: timestampFromMs(w.end),
          status: Number(this.status.value) as ReservationStatus,
          note: this.note.value.trim(),
        },
      });
      if (!res.reservation) throw new Error("the service answered without the reservation");
      const booking = toBooking(res.reservation);
      this.say(`Reserved ${booking.resourceId} ${formatWindow(booking.start, booking.end)}.`, "ok");
      this.note.value = "";
      this.edited = false;
      this.onReserved(booking);
    } catch (err) {
      await this.explain(err, resource, w);
    } finally {
      if (submit) submit.disabled = false;
    }
  }

  private async explain(err: unknown, resource: string, w: Window) {
    const text = describeError(err);
    if (ConnectError.from(err).code !== Code.AlreadyExists) return this.say(text, "error");
    const free = await nextFree(this.client, resource, w.start, w.end - w.start);
    if (!free) return this.say(text, "error");
    const offer = document.createElement("button");
    offer.type = "button";
    offer.textContent = `Book ${barWindow(free)} instead`;
    offer.addEventListener("click", () => {
      fillWindow(this.fields, free);
      this.form.requestSubmit();
    });
    this.say(text, "error", offer);
  }
}
