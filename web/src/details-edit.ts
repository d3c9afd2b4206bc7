import type { Booking } from "./booking.js";
import { fillWindow } from "./window-fields.js";

/** An element with text and, for keeping focus across a redraw, a `data-key`. */
export function keyed<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = "",
  key = "",
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.textContent = text;
  if (key) node.dataset.key = key;
  return node;
}

/** What the edit form reports: a submit, and the Save button pressed (to keep its focus). */
export interface EditHandlers {
  submit(form: HTMLFormElement): void;
  saving(): void;
}

/** The details panel's form to move a reservation (day, from, to) or change its note. */
export function editForm(b: Booking, live: boolean, on: EditHandlers): HTMLFormElement {
  const form = keyed("form");
  form.className = "edit";
  form.setAttribute("aria-label", "Change");
  const field = (label: string, name: string, value: string) => {
    const wrap = keyed("label", label);
    const input = keyed("input", "", name);
    input.name = name;
    input.value = value;
    input.autocomplete = "off";
    input.disabled = !live;
    wrap.append(" ", input);
    return { wrap, input };
  };
  const day = field("Day", "day", "");
  day.input.type = "date";
  const from = field("From", "from", "");
  const to = field("To", "to", "");
  for (const f of [from, to]) {
    f.input.inputMode = "numeric";
    f.input.maxLength = 5;
  }
  fillWindow({ day: day.input, from: from.input, to: to.input }, b);
  const note = field("Note", "note", b.note);
  note.input.maxLength = 500;
  const pair = keyed("div");
  pair.className = "pair";
  pair.append(from.wrap, to.wrap);
  const save = keyed("button", "Save changes", "save");
  save.type = "submit";
  save.disabled = !live;
  save.addEventListener("click", () => {
    on.saving();
  });
  form.append(day.wrap, pair, note.wrap, save);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    on.submit(form);
  });
  return form;
}
