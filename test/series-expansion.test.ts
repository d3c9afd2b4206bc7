import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RsvpError } from "../src/domain/errors.js";
import { expandSeries, MAX_OCCURRENCES, parseRrule } from "../src/domain/series.js";

// Series expansion on its own: pure, so checked here directly against dates written out by
// hand; the rpc that books a series is covered in series.test.ts.

const us = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
const window = (start: string, end: string) => ({ start: us(start), end: us(end) });
const isoOf = (w: { start: bigint; end: bigint }) => [
  new Date(Number(w.start / 1000n)).toISOString(),
  new Date(Number(w.end / 1000n)).toISOString(),
];
const refused = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof RsvpError && message.test(e.message));

describe("parseRrule", () => {
  it("normalises case and the RRULE: prefix, keeping the parts in order", () => {
    assert.equal(
      parseRrule(" rrule:freq=weekly;byday=mo,we;count=4 "),
      "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4",
    );
    assert.equal(
      parseRrule("FREQ=DAILY;UNTIL=20310101T000000Z"),
      "FREQ=DAILY;UNTIL=20310101T000000Z",
    );
  });

  it("refuses what the contract does not promise, naming why", () => {
    refused(() => parseRrule(""), /required/);
    refused(() => parseRrule("FREQ=DAILY;COUNT=2\nDTSTART:20300101T000000Z"), /single RRULE line/);
    refused(() => parseRrule("FREQ=DAILY;COUNT"), /malformed/);
    refused(() => parseRrule("FREQ=DAILY;COUNT=2;BYHOUR=9"), /"BYHOUR" is not supported/);
    refused(() => parseRrule("FREQ=DAILY;COUNT=2;COUNT=3"), /COUNT is given twice/);
    refused(() => parseRrule("FREQ=YEARLY;COUNT=2"), /FREQ must be DAILY, WEEKLY or MONTHLY/);
    refused(() => parseRrule("FREQ=DAILY"), /exactly one of COUNT and UNTIL/);
    refused(
      () => parseRrule("FREQ=DAILY;COUNT=2;UNTIL=20310101T000000Z"),
      /exactly one of COUNT and UNTIL/,
    );
  });
});

describe("expandSeries", () => {
  it("keeps the local wall-clock time across a daylight-saving change", () => {
    const first = window("2031-03-17T08:00:00Z", "2031-03-17T09:00:00Z");
    assert.deepEqual(expandSeries(first, "FREQ=WEEKLY;COUNT=3", "Europe/Berlin").map(isoOf), [
      ["2031-03-17T08:00:00.000Z", "2031-03-17T09:00:00.000Z"],
      ["2031-03-24T08:00:00.000Z", "2031-03-24T09:00:00.000Z"],
      ["2031-03-31T07:00:00.000Z", "2031-03-31T08:00:00.000Z"],
    ]);
    // In UTC there is no such change: the same instant every week.
    assert.deepEqual(
      expandSeries(first, "FREQ=WEEKLY;COUNT=3", "UTC").map((w) => isoOf(w)[0]),
      ["2031-03-17T08:00:00.000Z", "2031-03-24T08:00:00.000Z", "2031-03-31T08:00:00.000Z"],
    );
  });

  it("repeats on the days BYDAY names, until UNTIL, each as long as the first", () => {
    // 2031-01-06 is a Monday.
    const first = window("2031-01-06T10:00:00Z", "2031-01-06T10:30:00Z");
    const got = expandSeries(first, "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20310116T235959Z", "UTC");
    assert.deepEqual(
      got.map((w) => isoOf(w)[0]),
      [
        "2031-01-06T10:00:00.000Z",
        "2031-01-09T10:00:00.000Z",
        "2031-01-13T10:00:00.000Z",
        "2031-01-16T10:00:00.000Z",
      ],
    );
    for (const w of got) assert.equal(w.end - w.start, 30n * 60_000_000n);
  });

  it("keeps the first start's microseconds on every occurrence", () => {
    const first = { start: us("2031-01-01T00:00:00Z") + 123_456n, end: us("2031-01-01T01:00:00Z") };
    const got = expandSeries(first, "FREQ=DAILY;COUNT=2", "UTC");
    assert.deepEqual(
      got.map((w) => w.start),
      [first.start, first.start + 86_400_000_000n],
    );
    assert.deepEqual(
      got.map((w) => w.end - w.start),
      [first.end - first.start, first.end - first.start],
    );
  });

  it(`allows at most ${MAX_OCCURRENCES} occurrences, and none is an error`, () => {
    const first = window("2031-01-01T00:00:00Z", "2031-01-01T01:00:00Z");
    assert.equal(
      expandSeries(first, `FREQ=DAILY;COUNT=${MAX_OCCURRENCES}`, "UTC").length,
      MAX_OCCURRENCES,
    );
    refused(
      () => expandSeries(first, `FREQ=DAILY;COUNT=${MAX_OCCURRENCES + 1}`, "UTC"),
      /at most 1000 occurrences/,
    );
    refused(() => expandSeries(first, "FREQ=DAILY;UNTIL=20300101T000000Z", "UTC"), /no occurrence/);
  });
});
