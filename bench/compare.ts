import { existsSync, readFileSync } from "node:fs";
import { markdownTable } from "./report.js";
import type { Row } from "./table.js";

/** The run a results file held before this one overwrote it. */
export interface PreviousRun {
  readonly heading: string;
  readonly date: string;
  readonly rows: readonly Row[];
}

/** The results file as it stands, if there is one this code can read. */
export function readPrevious(path: string): PreviousRun | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const data = JSON.parse(readFileSync(path, "utf8")) as Partial<PreviousRun>;
    if (typeof data.heading !== "string" || !Array.isArray(data.rows)) return undefined;
    return { heading: data.heading, date: data.date ?? "", rows: data.rows };
  } catch {
    return undefined;
  }
}

const ratio = (now: number, before: number) =>
  Number.isFinite(now) && Number.isFinite(before) && before > 0
    ? `${(now / before).toFixed(2)}×`
    : "";

/**
 * Each row against the same row of the previous run, as ratios (now / then): a change's gain
 * or loss shows in the run that measures it. Both runs' headings are given, with their load
 * averages, since a busier machine moves every figure.
 */
export function formatComparison(rows: readonly Row[], previous: PreviousRun): string {
  const before = new Map(previous.rows.map((r) => [r.key, r]));
  const lines: string[][] = [];
  for (const r of rows) {
    const p = before.get(r.key);
    if (!p) continue;
    lines.push([
      r.key,
      ratio(r.rate, p.rate),
      ratio(r.p99, p.p99),
      ratio(r.cpuUsPerOp, p.cpuUsPerOp),
    ]);
  }
  if (lines.length === 0) return "";
  return [
    `Against the previous run (${previous.date}: ${previous.heading}), now ÷ then:`,
    "",
    markdownTable(["key", "rate", "p99", "CPU/op"], lines, new Set([1, 2, 3])),
  ].join("\n");
}
