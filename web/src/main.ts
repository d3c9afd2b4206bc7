import "./style.css";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import { createRsvp } from "./api.js";
import { type Booking, toBooking } from "./booking.js";
import { describeError } from "./describe-error.js";
import { Details } from "./details.js";
import { followChanges } from "./live.js";
import { setupReserveForm } from "./reserve-form.js";
import { Store } from "./store.js";
import { Timeline } from "./timeline.js";
import { setupTokenForm } from "./token.js";
import {
  describeView,
  shiftView,
  type View,
  viewContaining,
  viewFromHash,
  viewToHash,
  type Zoom,
} from "./view.js";

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

const client = createRsvp();
const store = new Store();
const details = new Details(byId("details"), store, client);
const timeline = new Timeline(byId("timeline"), store, select);
const showCancelled = byId<HTMLInputElement>("show-cancelled");
const summary = byId("summary");
const live = byId("live");
let view: View = viewFromHash(location.hash) ?? viewContaining(Date.now(), "day");
let loads = 0;

function select(id: string | undefined) {
  timeline.select(id);
  details.show(id);
}

/** Queries the visible range; only the newest of overlapping loads lands. */
async function load() {
  const load = ++loads;
  const mark = store.begin(view);
  const range = { start: timestampFromMs(view.from), end: timestampFromMs(view.to) };
  // The default (UNKNOWN) is every status but cancelled; those are a second query.
  const statuses = showCancelled.checked
    ? [ReservationStatus.UNKNOWN, ReservationStatus.CANCELLED]
    : [ReservationStatus.UNKNOWN];
  try {
    const found: Booking[] = [];
    await Promise.all(
      statuses.map(async (status) => {
        for await (const r of client.query({ ...range, status })) found.push(toBooking(r));
      }),
    );
    if (load === loads) store.replace(found, mark);
  } catch (err) {
    if (load === loads) summary.textContent = `Could not load: ${describeError(err)}`;
  }
}

/** Shows `next` without loading it. */
function setView(next: View) {
  view = next;
  byId("range").textContent = describeView(view);
  for (const button of document.querySelectorAll<HTMLButtonElement>("[data-zoom]")) {
    button.setAttribute("aria-pressed", String(button.dataset.zoom === view.zoom));
  }
  timeline.setView(view, showCancelled.checked);
  history.replaceState(null, "", viewToHash(view));
}

function show(next: View) {
  setView(next);
  void load();
}

store.subscribe(() => {
  const n = store.count(showCancelled.checked);
  const rows = store.resources().length;
  summary.textContent = `${n} reservation${n === 1 ? "" : "s"} · ${rows} resource${rows === 1 ? "" : "s"}`;
  const list = byId<HTMLDataListElement>("resources");
  if (list.options.length !== rows) {
    list.replaceChildren(
      ...store
        .resources()
        .map((r) => Object.assign(document.createElement("option"), { value: r })),
    );
  }
});

byId("prev").addEventListener("click", () => show(shiftView(view, -1)));
byId("next").addEventListener("click", () => show(shiftView(view, 1)));
byId("today").addEventListener("click", () => show(viewContaining(Date.now(), view.zoom)));
for (const button of document.querySelectorAll<HTMLButtonElement>("[data-zoom]")) {
  button.addEventListener("click", () => {
    // Zooming in on the current week lands on today rather than its Monday.
    const now = Date.now();
    const anchor = now >= view.from && now < view.to ? now : view.from;
    show(viewContaining(anchor, button.dataset.zoom as Zoom));
  });
}
showCancelled.addEventListener("change", () => show(view));
window.addEventListener("hashchange", () => {
  const next = viewFromHash(location.hash);
  if (next) show(next);
});

setupTokenForm(byId("token-form"));
setupReserveForm(byId("reserve-form"), byId("form-message"), client, (booking) => {
  if (booking.start >= view.to || booking.end <= view.from) {
    show(viewContaining(booking.start, view.zoom));
  }
  store.apply(booking);
  select(booking.id);
});

// The first load comes from followChanges, once its listen request is on the way.
setView(view);
void followChanges(client, {
  change: (event) => {
    if (event.reservation) store.apply(toBooking(event.reservation));
  },
  resync: () => void load(),
  status: (state) => {
    live.textContent = state === "live" ? "live" : "reconnecting…";
    live.className = `live is-${state}`;
  },
});
