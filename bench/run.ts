// `npm run bench`: the service against its physical limits, in one run. See docs/benchmark.md.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { formatPreamble, updateBenchDoc } from "./bench-doc.js";
import { formatComparison, readPrevious } from "./compare.js";
import type { ModeEnv } from "./context.js";
import { runEmbedded } from "./embedded-mode.js";
import { type BenchOptions, parseOptions, USAGE } from "./options.js";
import { runPostgres } from "./postgres-mode.js";
import { here, Processes } from "./processes.js";
import { Recorder } from "./recorder.js";
import { formatChecks, formatDetails, formatTable, writeJson } from "./report.js";
import { buildRows } from "./table.js";

function options(): BenchOptions {
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === "help") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    return parsed;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(2);
  }
}

const opts = options();
const started = Date.now();
const loadAtStart = loadavg()[0] ?? 0;
const log = (message: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);
const workDir = mkdtempSync(join(tmpdir(), "rsvp-bench-"));
const cpuProfDir = opts.cpuProf ? mkdtempSync(join(tmpdir(), "rsvp-bench-prof-")) : undefined;
const procs = new Processes();
const rec = new Recorder();
const cleanups: (() => Promise<void>)[] = [];

// Children first (the service closes its pool), then databases and the cluster, newest first.
async function stopEverything(): Promise<void> {
  await procs.stopAll();
  for (const fn of cleanups.reverse()) await fn().catch((err) => log(`clean-up: ${String(err)}`));
  rmSync(workDir, { recursive: true, force: true });
}
let cleaning: Promise<void> | undefined;
const cleanUp = () => {
  cleaning ??= stopEverything();
  return cleaning;
};

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const env: ModeEnv = {
  opts,
  procs,
  rec,
  workDir,
  ...(cpuProfDir ? { cpuProfDir } : {}),
  onCleanup: (fn) => cleanups.push(fn),
  log,
};

const mode = opts.embedded ? "embedded" : "postgres";
log(
  `rsvp bench (${mode}${opts.quick ? ", quick" : ""}): ${opts.repeats} repeats × ${opts.durationMs / 1000}s`,
);
let info: Awaited<ReturnType<typeof runPostgres>>;
try {
  info = opts.embedded ? await runEmbedded(env) : await runPostgres(env);
} catch (err) {
  // Interrupted, the run fails as its children go: that is not news.
  if (!interrupted)
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await cleanUp();
  process.exit(interrupted ? 130 : 1);
}
await cleanUp();

const rows = buildRows(rec, opts);
const elapsedSeconds = Math.round((Date.now() - started) / 1000);
const cpu = cpus()[0]?.model ?? "unknown";
// The machine's load average (1 min) at the start and at the end: other work moves every figure.
const load = `load ${loadAtStart.toFixed(1)}→${(loadavg()[0] ?? 0).toFixed(1)}`;
const heading = `rsvp bench · ${mode}${opts.quick ? " · quick" : ""} · ${info.database} · ${availableParallelism()} × ${cpu} · node ${process.version} · medians of ${opts.repeats} · ${elapsedSeconds}s · ${load}`;
// What is missing comes first: a table of blanks reads as a slow service otherwise.
const preamble = formatPreamble({ rows, notes: info.notes });
process.stdout.write(
  `\n${heading}\n\n${preamble ? `${preamble}\n\n` : ""}${formatTable(rows)}\n\n${formatDetails(rec)}\n`,
);
if (cpuProfDir) process.stdout.write(`CPU profiles of the service: ${cpuProfDir}\n`);
process.stdout.write(`${formatChecks(rec.checks)}\n`);

const file = here(`../../bench/results/latest${opts.embedded ? "-embedded" : ""}.json`);
const previous = readPrevious(file);
const comparison = previous ? formatComparison(rows, previous) : "";
if (comparison) process.stdout.write(`\n${comparison}\n\n`);
const samples = Object.fromEntries(rows.map((r) => [r.key, rec.all(r.key)]));
writeJson(file, {
  heading,
  date: new Date().toISOString(),
  mode,
  options: opts,
  database: info.database,
  node: process.version,
  cpus: availableParallelism(),
  cpu,
  elapsedSeconds,
  rows,
  notes: info.notes,
  checks: rec.checks,
  samples,
});
process.stdout.write(`written to ${file}\n`);
if (!opts.embedded) {
  // The docs show the latest Postgres run; CI checks that they do.
  const doc = here("../../docs/benchmark.md");
  updateBenchDoc(doc, file);
  process.stdout.write(`table written to ${doc}\n`);
}
process.exit(rec.checks.every((c) => c.ok) ? 0 : 1);
