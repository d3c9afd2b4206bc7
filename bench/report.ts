import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Check, Recorder } from "./recorder.js";
import type { Row } from "./table-rows.js";

const fmt = (v: number | undefined, digits = 1) =>
  v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
const rate = (v: number) =>
  !Number.isFinite(v) ? "-" : v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);

/** The table as fixed-width text. */
export function formatTable(rows: readonly Row[]): string {
  const header = [
    "scenario",
    "rate",
    "unit",
    "p50 ms",
    "p99 ms",
    "cores svc/gen/db/other",
    "limit",
    "ratio",
    "target",
    "met",
  ];
  const body = rows.map((r) => [
    r.scenario,
    rate(r.rate),
    r.unit,
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    [r.cores.svc, r.cores.gen, r.cores.db, r.cores.other].map((v) => fmt(v, 1)).join("/"),
    r.limit ?? "",
    r.ratio === undefined ? "" : `${fmt(r.ratio, 2)}×`,
    r.target ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i >= 6 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** What the table has no column for: contention outcomes, fan-out, memory while streaming. */
export function formatDetails(rec: Recorder): string {
  const lines: string[] = [];
  if (rec.has("b")) {
    const b = rec.median("b");
    lines.push(
      `(b) per run (median): ${fmt(b.acked, 0)} acked, ${fmt(b.clashes, 0)} clashes answered ALREADY_EXISTS`,
    );
  }
  if (rec.has("e")) {
    const e = rec.median("e");
    lines.push(
      `(e) p50/p99 are commit→listener; ${fmt(e.events, 0)} events delivered per run (median), reserve p99 ${fmt(e.reserveP99, 1)} ms`,
    );
  }
  if (rec.has("d")) {
    const d = rec.median("d");
    lines.push(
      `(d) p50/p99 are first-row latency (median/worst of the repeats); server RSS ${fmt(d.rssBeforeMiB, 0)} MiB before, +${fmt(d.rssGrowthMiB, 1)} MiB peak while streaming`,
    );
  }
  return lines.join("\n");
}

/** The checks as lines. */
export function formatChecks(checks: readonly Check[]): string {
  const failed = checks.filter((c) => !c.ok);
  const lines = failed.map((c) => `  FAILED ${c.name}: ${c.detail}`);
  return [
    `correctness: ${checks.length - failed.length}/${checks.length} checks passed`,
    ...lines,
  ].join("\n");
}

/** Writes the run as JSON (the same figures as the table, plus every repeat and check). */
export function writeJson(path: string, data: object): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}
