import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { LISTENS_PER_CHANNEL } from "./feed-phase.js";
import type { Check, Recorder } from "./recorder.js";
import type { Row } from "./table.js";
import { GROUP_ITEMS } from "./tasks.js";

// The run's report: the table as Markdown, the details it has no column for, the checks, and
// the JSON file the same figures go to.

const num = (v: number | undefined, digits: number) =>
  v === undefined || !Number.isFinite(v) ? "" : v.toFixed(digits);
const rate = (v: number) =>
  !Number.isFinite(v) ? "" : v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);

/** The table as Markdown, padded to read as text too (docs/benchmark.md shows it as it is). */
export function formatTable(rows: readonly Row[]): string {
  const header = [
    "key",
    "scenario",
    "rate /s",
    "p50 ms",
    "p99 ms",
    "CPU µs/op",
    "gen µs/op",
    "limit",
    "ratio",
    "target",
    "met",
  ];
  const body = rows.map((r) => [
    r.key,
    r.scenario,
    `${rate(r.rate)} ${r.unit}s`,
    num(r.p50, 2),
    num(r.p99, 2),
    num(r.cpuUsPerOp, 0),
    num(r.genUsPerOp, 0),
    r.limitKey ?? "",
    r.ratio === undefined ? "" : `${num(r.ratio, 2)}× ${r.by === "rate" ? "" : r.by}`.trim(),
    r.target ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "**no**",
  ]);
  return markdownTable(header, body, new Set([2, 3, 4, 5, 6, 8]));
}

/** A Markdown table padded to read as text too: `numeric` columns right-aligned. */
export function markdownTable(
  header: readonly string[],
  body: readonly (readonly string[])[],
  numeric: ReadonlySet<number>,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (numeric.has(i) ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(header), rule, ...body.map(line)].join("\n");
}

const fmt = (v: number | undefined, digits = 1) =>
  v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);

/** What the table has no column for: contention outcomes, fan-out, memory while streaming. */
export function formatDetails(rec: Recorder): string {
  const lines: string[] = [];
  if (rec.has("contend")) {
    const b = rec.median("contend");
    lines.push(
      `contend: per run (median) ${fmt(b.acked, 0)} acked, ${fmt(b.clashes, 0)} clashes answered ALREADY_EXISTS`,
    );
  }
  if (rec.has("reserve")) {
    const plain = rec.median("reserve").rate;
    for (const key of ["pool", "group"].filter((k) => rec.has(k))) {
      const k = rec.median(key);
      const perCall = key === "group" ? `; p50/p99 are per call of ${GROUP_ITEMS}` : "";
      lines.push(
        `${key}: ${fmt(k.rate / plain, 2)}× plain reserve's rate per reservation${perCall}`,
      );
    }
  }
  for (const key of [
    "listen@max",
    "listen@50%",
    "listen@50%r",
    "feed-empty",
    "feed-foreign",
    "feed-history",
  ]) {
    if (!rec.has(key)) continue;
    const e = rec.median(key);
    lines.push(
      `${key}: p50/p99 are commit → listener (slowest ${fmt(e.maxMs, 0)} ms); ${fmt(e.reserveRate, 0)} reserves/s (reserve p99 ${fmt(e.reserveP99, 1)} ms), ${fmt(e.events, 0)} events delivered per run`,
    );
  }
  if (rec.has("feed-fanout")) {
    const f = rec.median("feed-fanout");
    lines.push(
      `feed-fanout: ${fmt(f.listeners, 0)} listeners over ${Math.ceil((f.listeners ?? 0) / LISTENS_PER_CHANNEL)} connections, ${fmt(f.reserveRate, 0)} reserves/s; server RSS ${fmt(f.rssPerListenerKiB, 1)} KiB per idle listener (RSS after opening them less before, divided)`,
    );
  }
  if (rec.has("query-stream")) {
    const d = rec.median("query-stream");
    lines.push(
      `query-stream: p50/p99 are the latency of the first row; server RSS ${fmt(d.rssBeforeMiB, 0)} MiB before, +${fmt(d.rssGrowthMiB, 1)} MiB peak while streaming`,
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
