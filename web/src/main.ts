import "./style.css";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ReservationStatus } from "../../src/gen/reservation/reservation_pb.js";
import { createCatalog, createRsvp } from "./api.js";
import { barWindow } from "./bar-text.js";
import { BookForm } from "./book-form.js";
import { type Booking, occupies, toBooking } from "./booking.js";
import { busyBlocks } from "./busy.js";
import { CatalogRows } from "./catalog-rows.js";
import { Changes } from "./changes.js";
import { describeError } from "./describe-error.js";
import { Details } from "./details.js";
import { setupFindForm } from "./find-free.js";
import type { Window } from "./free-slots.js";
import { followChanges } from "./live.js";
import { Panels } from "./panels.js";
import { setupResourcesPanel } from "./resources-panel.js";
import { PinnedRows, RowModel, type RowSource } from "./rows.js";
import { loadSettings, saveSettings } from "./settings.js";
import { Store } from "./store.js";
import { setupSuggestions } from "./suggestions.js";
import { Timeline } from "./timeline.js";
import { Toast } from "./toast.js";
import { setupTokenForm, tokenRole } from "./token.js";
import {
  atHour,
  describeView,
  loadedRange,
  shiftView,
  startOfDay,
  toDateValue,
  type View,
  viewContaining,
  viewFromHash,
  viewToHash,
  widened,
  type Zoom,
} from "./view.js";

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

const HOUR_MS = 3_600_000;
const settings = loadSettings();
const client = createRsvp();
const store = new Store();
const pinned = new PinnedRows(settings.resources, (resources) => {
  settings.resources = resources;
  saveSettings(settings);
});
/** The resources with loaded bookings (rows stay while navigating). */
const booked: RowSource = {
  rows: () => store.resources().map((resource) => ({ resource, group: "" })),
  subscribe: (changed) => store.subscribe((_, rowsChanged) => rowsChanged && changed()),
};
/** Every registered resource, grouped by pool, with its buffers. */
const catalog = new CatalogRows(createCatalog());
const rows = new RowModel([catalog, booked, pinned]);
const toast = new Toast(byId("toast"));
const timeline = new Timeline(
  byId("timeline"),
  store,
  rows,
  {
    open: (id) => select(id, true),
    day: (ms) => show(viewContaining(ms, "day", settings.hours)),
    explain: (what) => toast.show(what),
    book: (resource, start, end) => startBooking(resource, { start, end }),
    reschedule: (b, start, end) => changes.reschedule(b, start, end, undefined),
  },
  (resource) => catalog.buffers(resource),
  (resource) => catalog.capacity(resource),
);
/**
 * How often the catalog is read again while the page is in view: a resource registered
 * elsewhere (the change feed carries reservations only) gets its row without a reload.
 */
const CATALOG_POLL_MS = 5000;
window.setInterval(() => {
  if (document.visibilityState === "visible") void catalog.refresh();
}, CATALOG_POLL_MS);
// Buffers and capacities may change while rows stay; new rows may be busy (the catalog can land after a load).
catalog.subscribe(() => {
  timeline.redrawAll();
  void refreshBusy();
});
const changes = new Changes(client, store, timeline, toast, (id) => select(id, false));
const panels = new Panels(byId("sheet"), () => focusTimeline());
const details = new Details(byId("details"), store, client, {
  reschedule: (b, start, end, note) => changes.reschedule(b, start, end, note),
  cancelled: (b) => changes.offerUndo(b),
});
const bookForm = new BookForm(
  byId("reserve-form"),
  byId("form-message"),
  client,
  rows,
  (booking) => {
    showDayOf(booking.start);
    store.apply(booking);
    select(booking.id, false);
    toast.show(`Booked ${booking.resourceId} ${barWindow(booking)}.`);
  },
);
const find = setupFindForm(
  byId("find-form"),
  byId("find-results"),
  client,
  rows,
  catalog,
  () => settings.hours,
  (resource, w) => startBooking(resource, w),
);
const showCancelled = byId<HTMLInputElement>("show-cancelled");
const summary = byId("summary");
const live = byId("live");
const hoursSelect = byId<HTMLSelectElement>("hours");
const zoomSelect = byId<HTMLSelectElement>("zoom");
let view: View =
  viewFromHash(location.hash, settings.hours) ?? viewContaining(Date.now(), "day", settings.hours);
let loads = 0;
/** The view changed since the last load: scroll to its bookings once they are in. */
let rescroll = true;

const phone = matchMedia("(max-width: 700px)");
// Where the timeline's time axis ends, for a phone's sheet to stop short of it (see style.css):
// the header above it grows and shrinks with the width and the words in it.
const axisEnds = new ResizeObserver(() => {
  const bottom = timeline.root.getBoundingClientRect().top + timeline.rowHeight();
  document.documentElement.style.setProperty("--axis-bottom", `${Math.ceil(bottom)}px`);
});
axisEnds.observe(timeline.root);
axisEnds.observe(byId("live").closest("header") ?? timeline.root);
phone.addEventListener("change", () => setView(view));

/**
 * Pixels per hour: as chosen, or (auto) 96 (80 on a phone) for a day, wide enough for
 * "10:00 bob", and the width of the screen for a week (a chosen zoom widens it, to read bars).
 */
function hourWidth(): number {
  if (settings.hourWidth >= 0) return settings.hourWidth;
  if (view.zoom === "week") return 0;
  return phone.matches ? 80 : 96;
}

function focusTimeline() {
  if (!timeline.active || !timeline.keys.focus(timeline.active)) timeline.root.focus();
}

function select(id: string | undefined, open: boolean) {
  timeline.select(id);
  details.show(id);
  if (id && open) panels.open("details");
}

/** Moves to the day of `ms` when the view does not show it. */
function showDayOf(ms: number) {
  const range = loadedRange(view);
  if (ms < range.from || ms >= range.to) show(viewContaining(ms, view.zoom, settings.hours));
}

function startBooking(resource: string, w: Window) {
  showDayOf(w.start);
  bookForm.fill(resource, w);
  panels.open("book", bookForm.firstEmpty());
}

/**
 * Busy blocks, for a caller who sees only their own reservations. Worked out after each load
 * and for an added row:
 * the caller's own changes only move their own bars, and others' changes never reach them.
 */
async function refreshBusy() {
  if (tokenRole() !== "user") return;
  const loaded = loadedRange(view);
  const range = { start: loaded.from, end: loaded.to };
  // The caller's own bookings with the buffers around them: `available` counts both as taken.
  const own = (resource: string) => {
    const { before, after } = catalog.buffers(resource);
    return [...store.bookings(resource)]
      .filter(occupies)
      .map((b) => ({ start: b.start - before, end: b.end + after }));
  };
  try {
    const busy = await busyBlocks(client, rows.rows(), range, own);
    const now = loadedRange(view);
    if (range.start === now.from && range.end === now.to) timeline.setBusy(busy);
  } catch {
    // busy blocks are a hint; the bookings themselves are loaded and shown
  }
}

/**
 * Queries the visible range; only the newest of overlapping loads lands. Returns the first
 * query's `rsvp-cursor`: a change-feed position taken before its rows were read, so listening
 * from it misses nothing the rows may not show ("" when the load failed).
 */
async function load(): Promise<string> {
  const load = ++loads;
  void catalog.load(); // registered or changed since: rows, pools and buffers stay current
  const loaded = loadedRange(view);
  const mark = store.begin(loaded);
  const range = { start: timestampFromMs(loaded.from), end: timestampFromMs(loaded.to) };
  // The default (UNKNOWN) is every status but cancelled and waiting; those are more queries,
  // after the first, so the first one's cursor comes before every read.
  const statuses = showCancelled.checked
    ? [ReservationStatus.UNKNOWN, ReservationStatus.WAITING, ReservationStatus.CANCELLED]
    : [ReservationStatus.UNKNOWN, ReservationStatus.WAITING];
  let cursor = "";
  try {
    const found: Booking[] = [];
    for (const status of statuses) {
      const onHeader = (h: Headers) => {
        cursor ||= h.get("rsvp-cursor") ?? "";
      };
      for await (const r of client.query({ ...range, status }, { onHeader })) {
        found.push(toBooking(r));
      }
    }
    if (load !== loads) return cursor;
    store.replace(found, mark);
    void refreshBusy();
    if (rescroll) {
      rescroll = false;
      requestAnimationFrame(() => timeline.scrollToAction());
    }
    return cursor;
  } catch (err) {
    if (load === loads) summary.textContent = `Could not load: ${describeError(err)}`;
    return "";
  }
}

/** Shows `next` without loading it. */
function setView(next: View) {
  if (next.from !== view.from || next.to !== view.to) {
    rescroll = true;
    timeline.setBusy(new Map()); // another range's; its own come after its load
  }
  view = next;
  byId("range").textContent = describeView(view);
  for (const button of document.querySelectorAll<HTMLButtonElement>("[data-zoom]")) {
    button.setAttribute("aria-pressed", String(button.dataset.zoom === view.zoom));
  }
  fitHours();
  find.setDay(toDateValue(view.from));
  history.replaceState(null, "", viewToHash(view));
}

/** The hour width the timeline was last drawn at. */
let width = Number.NaN;

/**
 * Shows the view widened to every booking on its day (see `widened`), at the chosen zoom;
 * called again whenever the bookings change, so one made at 05:00 by anyone comes into view.
 */
function fitHours() {
  const shown = [...store.all()].filter(
    (b) => showCancelled.checked || b.status !== ReservationStatus.CANCELLED,
  );
  const fitted = widened(view, shown);
  const same = fitted.from === timeline.view.from && fitted.to === timeline.view.to;
  if (same && timeline.showCancelled === showCancelled.checked && width === hourWidth()) return;
  width = hourWidth();
  timeline.setView(fitted, showCancelled.checked, width);
}

function show(next: View) {
  setView(next);
  void load();
}

function summarise() {
  const n = store.count(showCancelled.checked);
  const count = rows.rows().length;
  summary.textContent = `${n} reservation${n === 1 ? "" : "s"} · ${count} resource${count === 1 ? "" : "s"}`;
}
store.subscribe(summarise);
store.subscribe(fitHours);
rows.subscribe(summarise); // the catalog's rows may come after the bookings
setupSuggestions(byId("resources"), byId("find-targets"), rows, catalog);

byId("prev").addEventListener("click", () => show(shiftView(view, -1, settings.hours)));
byId("next").addEventListener("click", () => show(shiftView(view, 1, settings.hours)));
byId("today").addEventListener("click", () =>
  show(viewContaining(Date.now(), view.zoom, settings.hours)),
);
for (const button of document.querySelectorAll<HTMLButtonElement>("[data-zoom]")) {
  button.addEventListener("click", () => {
    // Zooming in on the current week lands on today rather than its Monday.
    const now = Date.now();
    const anchor = now >= view.from && now < view.to ? now : view.from;
    show(viewContaining(anchor, button.dataset.zoom as Zoom, settings.hours));
  });
}
hoursSelect.value = `${settings.hours.start}-${settings.hours.end}`;
zoomSelect.value = String(settings.hourWidth);
hoursSelect.addEventListener("change", () => {
  const [start = 0, end = 24] = hoursSelect.value.split("-").map(Number);
  settings.hours = { start, end };
  saveSettings(settings);
  show(viewContaining(view.from, view.zoom, settings.hours));
});
zoomSelect.addEventListener("change", () => {
  settings.hourWidth = Number(zoomSelect.value);
  saveSettings(settings);
  setView(view);
});
showCancelled.addEventListener("change", () => show(view));
window.addEventListener("hashchange", () => {
  const next = viewFromHash(location.hash, settings.hours);
  if (next) show(next);
});

/** A fresh booking on the view's day: the next hour (or the first working hour), the active row. */
function freshBooking() {
  const nextHour = Math.ceil(Date.now() / HOUR_MS) * HOUR_MS;
  const start =
    nextHour > view.from && nextHour < view.to
      ? nextHour
      : atHour(startOfDay(view.from), settings.hours.start);
  const active = timeline.active ? store.get(timeline.active)?.resourceId : undefined;
  bookForm.fill(active ?? rows.rows()[0]?.resource ?? "", { start, end: start + HOUR_MS });
}

// "Book" starts afresh, unless the form is half typed.
document.querySelector("[data-panel=book]")?.addEventListener("click", () => {
  if (!bookForm.isEdited()) freshBooking();
});

setupTokenForm(byId("token-form"));
setupResourcesPanel(
  byId("resources-form"),
  byId("resources-message"),
  byId("pinned"),
  pinned,
  rows,
  (resource) => {
    timeline.reveal(resource);
    void refreshBusy(); // a new row may be busy
  },
);

// The first load comes from followChanges: it lists, then listens from the list's cursor.
setView(view);
freshBooking();
void followChanges(client, {
  change: (event) => {
    if (event.reservation) store.apply(toBooking(event.reservation));
  },
  resync: load,
  status: (state) => {
    live.textContent = state === "live" ? "live" : "reconnecting…";
    live.className = `live is-${state}`;
  },
});
