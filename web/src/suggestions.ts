import type { CatalogRows } from "./catalog-rows.js";
import type { RowModel } from "./rows.js";

const option = (value: string, label = "") =>
  Object.assign(document.createElement("option"), { value, label });

/**
 * Keeps the name suggestions current: every row's resource for booking, and the catalog's pools
 * besides them for "Find a free slot", which takes a pool too.
 */
export function setupSuggestions(
  resources: HTMLElement,
  targets: HTMLElement,
  rows: RowModel,
  catalog: CatalogRows,
): void {
  const list = () => {
    resources.replaceChildren(...rows.rows().map((r) => option(r.resource)));
    targets.replaceChildren(
      ...catalog.pools().map((p) => option(p, "pool")),
      ...rows.rows().map((r) => option(r.resource)),
    );
  };
  rows.subscribe(list);
  catalog.subscribe(list);
}
