import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import type { Rsvp } from "./api.js";
import { type Booking, toBooking } from "./booking.js";
import { describeError } from "./describe-error.js";
import { formatWindow, fromLocalInput, toLocalInput } from "./format.js";
import { loadToken } from "./token.js";

const HOUR_MS = 3_600_000;

function field<T extends HTMLInputElement | HTMLSelectElement>(
  form: HTMLFormElement,
  name: string,
  type: new () => T,
): T {
  const input = form.elements.namedItem(name);
  if (input instanceof type) return input;
  throw new Error(`the reserve form has no field ${name}`);
}

/**
 * The reserve form: sends `reserve` and says what happened next to the form, a clash in plain
 * words. `onReserved` gets the stored reservation.
 */
export function setupReserveForm(
  form: HTMLFormElement,
  message: HTMLElement,
  client: Rsvp,
  onReserved: (b: Booking) => void,
): void {
  const text = (name: string) => field(form, name, HTMLInputElement);
  const resource = text("resource");
  const user = text("user");
  const start = text("start");
  const end = text("end");
  const note = text("note");
  const status = field(form, "status", HTMLSelectElement);
  // With a token the service takes an empty user as the token's own.
  if (loadToken()) {
    user.required = false;
    user.placeholder = "you (from the token)";
  }
  const nextHour = Math.ceil(Date.now() / HOUR_MS) * HOUR_MS;
  start.value = toLocalInput(nextHour);
  end.value = toLocalInput(nextHour + HOUR_MS);

  const say = (text: string, kind: "ok" | "error") => {
    message.textContent = text;
    message.className = `message ${kind}`;
    message.setAttribute("role", kind === "error" ? "alert" : "status");
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const from = fromLocalInput(start.value);
    const to = fromLocalInput(end.value);
    if (from === undefined || to === undefined || to <= from) {
      say("The end must be after the start.", "error");
      return;
    }
    const submit = form.querySelector("button[type=submit]") as HTMLButtonElement;
    submit.disabled = true;
    try {
      const res = await client.reserve({
        reservation: {
          resourceId: resource.value.trim(),
          userId: user.value.trim(),
          start: timestampFromMs(from),
          end: timestampFromMs(to),
          status: Number(status.value) as ReservationStatus,
          note: note.value.trim(),
        },
      });
      if (!res.reservation) throw new Error("the service answered without the reservation");
      const booking = toBooking(res.reservation);
      say(`Reserved ${booking.resourceId} ${formatWindow(booking.start, booking.end)}.`, "ok");
      onReserved(booking);
    } catch (err) {
      say(describeError(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
}
