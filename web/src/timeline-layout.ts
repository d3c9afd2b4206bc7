import type { Row } from "./rows.js";

/** A line of the timeline: a pool's heading, or a resource's row. */
export type Slot =
  | { readonly kind: "head"; readonly group: string; readonly count: number }
  | { readonly kind: "row"; readonly resource: string };

/** What the heading of the resources in no pool says. */
export const NO_POOL = "Not in a pool";

/**
 * The rows (already in group order) with a heading before each group, once any row is in a
 * pool; without pools there are no headings and the timeline looks as before the catalog.
 */
export function layoutRows(rows: readonly Row[]): Slot[] {
  if (!rows.some((r) => r.group)) return rows.map((r) => ({ kind: "row", resource: r.resource }));
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.group, (counts.get(r.group) ?? 0) + 1);
  const out: Slot[] = [];
  let group: string | undefined;
  for (const r of rows) {
    if (r.group !== group) {
      group = r.group;
      out.push({ kind: "head", group, count: counts.get(group) ?? 0 });
    }
    out.push({ kind: "row", resource: r.resource });
  }
  return out;
}

/** The heading's text: `lot-b · 4 resources`. */
export function headText(slot: { group: string; count: number }): string {
  const name = slot.group || NO_POOL;
  return `${name} · ${slot.count} resource${slot.count === 1 ? "" : "s"}`;
}
