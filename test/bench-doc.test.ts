// The benchmark table in docs/benchmark.md is generated: the region it replaces, the limits it
// names as missing, and the sections it writes from a result file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BenchResult, benchSection, missingLimits, withSection } from "../bench/bench-doc.js";
import { findTool, H2LOAD, PGBENCH } from "../bench/limit-tools.js";
import type { Row } from "../bench/table.js";

const START =
  "<!-- bench-table:start: generated from bench/results/latest.json by `npm run docs:bench`; do not edit -->";
const END = "<!-- bench-table:end -->";

const row = (key: string, limitKey?: string): Row => ({
  key,
  scenario: `scenario of ${key}`,
  unit: "call",
  rate: 1000,
  p50: 1.5,
  p99: 4.25,
  cpuUsPerOp: 100,
  ...(limitKey ? { limitKey, by: "rate" as const } : {}),
});

describe("bench doc", () => {
  it("replaces only the marked region, and refuses a document without one", () => {
    const doc = `# title\n\nbefore the table\n\n${START}\nold table\n${END}\n\nafter the table\n`;
    assert.equal(
      withSection(doc, "new table"),
      `# title\n\nbefore the table\n\n${START}\nnew table\n${END}\n\nafter the table\n`,
    );
    assert.throws(() => withSection("# no markers\n", "new table"), /no region marked/);
  });

  it("names each limit row that is missing, with the rows that lost their ratio", () => {
    const rows = [row("empty-rsvp", "empty-bare"), row("reserve", "db-insert-own")];
    rows.push(row("reserve-cpu", "db-insert-bare"), row("db-insert-own", "db-insert-bare"));
    assert.deepEqual(missingLimits(rows), [
      "empty-bare (for empty-rsvp)",
      "db-insert-bare (for reserve-cpu, db-insert-own)",
    ]);
    assert.deepEqual(missingLimits([row("empty-bare"), row("empty-rsvp", "empty-bare")]), []);
  });

  it("says at once which rows a missing tool costs, and how to install it", () => {
    const notes: string[] = [];
    const logged: string[] = [];
    const absent = { ...H2LOAD, name: "rsvp-bench-no-such-tool" };
    assert.equal(
      findTool(absent, notes, (m) => logged.push(m)),
      undefined,
    );
    assert.deepEqual(notes, [
      "rsvp-bench-no-such-tool not found: no empty-bare, empty-grpc, empty-rsvp rows (install it: sudo apt-get install nghttp2-client)",
    ]);
    assert.deepEqual(logged, [`note: ${notes[0]}`]);
    // A tool that is there is found, and costs nothing.
    const present = { ...PGBENCH, name: "sh" };
    assert.match(findTool(present, notes, (m) => logged.push(m)) ?? "", /\/sh$/);
    assert.equal(notes.length, 1);
  });

  it("writes the heading, one table line per row, the notes first and the checks last", () => {
    const result: BenchResult = {
      heading: "rsvp bench · postgres · quick",
      date: "2030-01-02T03:04:05.000Z",
      rows: [row("get"), row("get@50%", "get")],
      notes: ["h2load not found: no empty-rpc rows (apt-get install nghttp2-client)"],
      checks: [
        { name: "no overlap", ok: true, detail: "" },
        { name: "every create heard", ok: false, detail: "2 missing" },
      ],
      samples: { get: [{ rate: 1000, p50: 1.5, p99: 4.25 }] },
    };
    const lines = benchSection(result).split("\n");
    assert.equal(lines[0], "rsvp bench · postgres · quick · 2030-01-02");
    const table = lines.filter((l) => l.startsWith("|"));
    assert.equal(table.length, 4); // header, rule, two rows
    assert.match(
      table[3] ?? "",
      /^\| get@50% +\| scenario of get@50% +\| +1000 calls \| +1\.50 \|/,
    );
    const text = lines.slice(lines.indexOf("```text") + 1, lines.lastIndexOf("```"));
    assert.deepEqual(text, [
      "note: h2load not found: no empty-rpc rows (apt-get install nghttp2-client)",
      "correctness: 1/2 checks passed",
      "  FAILED every create heard: 2 missing",
    ]);
  });
});
