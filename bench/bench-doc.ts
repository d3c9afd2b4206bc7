import { readFileSync, writeFileSync } from "node:fs";
import { type Check, Recorder, type Sample } from "./recorder.js";
import { formatChecks, formatDetails, formatTable } from "./report.js";
import type { Row } from "./table.js";

/** What `npm run bench` writes to bench/results/latest.json (the fields the docs show). */
export interface BenchResult {
  readonly heading: string;
  readonly date: string;
  readonly rows: readonly Row[];
  readonly notes: readonly string[];
  readonly checks: readonly Check[];
  readonly samples: Readonly<Record<string, readonly Sample[]>>;
}

/** Reads a result file; JSON has no NaN, so the `null`s it wrote for NaN become NaN again. */
export function readResult(path: string): BenchResult {
  return JSON.parse(readFileSync(path, "utf8"), (_key, value) =>
    value === null ? Number.NaN : value,
  ) as BenchResult;
}

/**
 * The limit rows some row compares with but the run could not measure, each with the rows
 * that lost their ratio: a missing tool (h2load, pgbench) shows here rather than as blanks.
 */
export function missingLimits(rows: readonly Row[]): string[] {
  const have = new Set(rows.map((r) => r.key));
  const lost = new Map<string, string[]>();
  for (const r of rows) {
    if (r.limitKey === undefined || have.has(r.limitKey)) continue;
    lost.set(r.limitKey, [...(lost.get(r.limitKey) ?? []), r.key]);
  }
  return [...lost].map(([limit, keys]) => `${limit} (for ${keys.join(", ")})`);
}

/** What goes before the table: missing limits and why (the run's notes say which tool). */
export function formatPreamble(result: Pick<BenchResult, "rows" | "notes">): string {
  const missing = missingLimits(result.rows);
  return [
    ...(missing.length > 0 ? [`missing limit rows: ${missing.join("; ")}`] : []),
    ...result.notes.map((n) => `note: ${n}`),
  ].join("\n");
}

/** The table, its details and checks as Markdown, as docs/benchmark.md shows them. */
export function benchSection(result: BenchResult): string {
  const rec = new Recorder();
  for (const [key, samples] of Object.entries(result.samples))
    for (const s of samples) rec.add(key, s);
  const preamble = formatPreamble(result);
  const text = [preamble, formatDetails(rec), formatChecks(result.checks)].filter((t) => t);
  return [
    `${result.heading} · ${result.date.slice(0, 10)}`,
    "",
    formatTable(result.rows),
    "",
    "```text",
    ...text,
    "```",
  ].join("\n");
}

const START =
  "<!-- bench-table:start: generated from bench/results/latest.json by `npm run docs:bench`; do not edit -->";
const END = "<!-- bench-table:end -->";

/** `doc` with its marked region replaced by `section`; throws when the markers are missing. */
export function withSection(doc: string, section: string): string {
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) throw new Error(`no region marked by\n  ${START}\n  ${END}`);
  return `${doc.slice(0, from + START.length)}\n${section}\n${doc.slice(to)}`;
}

/**
 * Rewrites the generated region of `docPath` from `resultPath`, or with `check` only compares:
 * returns whether the document already held what the result generates.
 */
export function updateBenchDoc(docPath: string, resultPath: string, check = false): boolean {
  const doc = readFileSync(docPath, "utf8");
  const next = withSection(doc, benchSection(readResult(resultPath)));
  if (next === doc) return true;
  if (!check) writeFileSync(docPath, next);
  return false;
}
