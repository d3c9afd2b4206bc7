import type { PinnedRows, RowModel } from "./rows.js";
import { input } from "./window-fields.js";

/**
 * The Resources panel: add a resource so its row shows while it has no booking (remembered by
 * this browser), or remove one added earlier. A name that only differs in spelling from a known
 * resource is questioned, so `Room 2` does not quietly become a second `room-2`.
 */
export function setupResourcesPanel(
  form: HTMLFormElement,
  message: HTMLElement,
  list: HTMLElement,
  pinned: PinnedRows,
  rows: RowModel,
  added: (resource: string) => void,
): void {
  const name = input(form, "resource");
  const draw = () => {
    list.replaceChildren(
      ...[...pinned.rows()].map(({ resource }) => {
        const item = document.createElement("li");
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", `Remove ${resource}`);
        remove.addEventListener("click", () => {
          pinned.remove(resource);
          draw();
          name.focus();
        });
        item.append(resource, remove);
        return item;
      }),
    );
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const typed = name.value.trim();
    if (!typed) return;
    const meant = rows.likelyMeant(typed);
    if (meant && name.dataset.questioned !== typed) {
      name.dataset.questioned = typed;
      message.className = "message error";
      message.textContent = `${meant} exists already; add “${typed}” anyway? Press Add row again.`;
      return;
    }
    pinned.add(typed);
    name.value = "";
    delete name.dataset.questioned;
    message.className = "message ok";
    message.textContent = `Added ${typed}.`;
    draw();
    added(typed);
  });
  draw();
}
