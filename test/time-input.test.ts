import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatDuration, parseDuration } from "../src/cli/duration-input.js";
import {
  parseDayInput,
  parseTimeInput,
  parseTimeSyntax,
  resolveDay,
  TimeInputError,
} from "../src/cli/time-input.js";

// Every expectation below is written out as a UTC instant by hand, in a zone with
// daylight-saving time, so that a wrong day, hour or offset cannot go unnoticed.
process.env.TZ = "Europe/Berlin";

const at = (iso: string) => Date.parse(iso);
const us = (iso: string) => BigInt(at(iso)) * 1000n;
/** Wednesday 2030-01-02 15:20:30.5 in Berlin (UTC+1). */
const WED = { now: at("2030-01-02T14:20:30.500Z") };

function refused(text: string, pattern: RegExp, ctx = WED) {
  assert.throws(
    () => parseTimeInput(text, ctx),
    (err: unknown) => err instanceof TimeInputError && pattern.test(err.message),
    text,
  );
}

describe("human time input", () => {
  it("now and offsets from now, to the microsecond", () => {
    const now = BigInt(WED.now) * 1000n;
    assert.equal(parseTimeInput("now", WED), now);
    assert.equal(parseTimeInput(" NOW ", WED), now);
    assert.equal(parseTimeInput("+1h", WED), now + 3_600_000_000n);
    assert.equal(parseTimeInput("+90m", WED), now + 5_400_000_000n);
    assert.equal(parseTimeInput("+1h30m", WED), now + 5_400_000_000n);
    assert.equal(parseTimeInput("-30m", WED), now - 1_800_000_000n);
    assert.equal(parseTimeInput("+2d", WED), now + 172_800_000_000n);
    assert.equal(parseTimeInput("+45s", WED), now + 45_000_000n);
  });

  it("today, tomorrow, yesterday and a time of day, in local time", () => {
    assert.equal(parseTimeInput("today 14:00", WED), us("2030-01-02T13:00:00Z"));
    assert.equal(parseTimeInput("Tomorrow 10:00", WED), us("2030-01-03T09:00:00Z"));
    assert.equal(parseTimeInput("yesterday 23:59:59", WED), us("2030-01-01T22:59:59Z"));
    assert.equal(parseTimeInput("tomorrow 9:05:00.25", WED), us("2030-01-03T08:05:00.250Z"));
    assert.equal(parseTimeInput("today", WED), us("2030-01-01T23:00:00Z"), "midnight");
    assert.equal(parseTimeInput("14:00", WED), us("2030-01-02T13:00:00Z"), "today by default");
  });

  it("a time of day may name its zone", () => {
    assert.equal(parseTimeInput("tomorrow 10:00Z", WED), us("2030-01-03T10:00:00Z"));
    assert.equal(parseTimeInput("today 10:00+05:30", WED), us("2030-01-02T04:30:00Z"));
    assert.equal(parseTimeInput("10:00-0800", WED), us("2030-01-02T18:00:00Z"));
  });

  it("a weekday is the next one, today included", () => {
    assert.equal(parseTimeInput("mon 9:00", WED), us("2030-01-07T08:00:00Z"));
    assert.equal(parseTimeInput("Monday 9:00", WED), us("2030-01-07T08:00:00Z"));
    assert.equal(parseTimeInput("tues 9:00", WED), us("2030-01-08T08:00:00Z"));
    assert.equal(parseTimeInput("wed 9:00", WED), us("2030-01-02T08:00:00Z"), "today");
    assert.equal(parseTimeInput("thursday", WED), us("2030-01-02T23:00:00Z"));
    assert.equal(parseTimeInput("SAT 18:30", WED), us("2030-01-05T17:30:00Z"));
    assert.equal(parseTimeInput("sun 0:00", WED), us("2030-01-05T23:00:00Z"));
  });

  it("a day-less time falls on --date's day", () => {
    const date = parseDayInput("tomorrow");
    assert.equal(parseTimeInput("10:00", { ...WED, date }), us("2030-01-03T09:00:00Z"));
    const fixed = parseDayInput("2030-06-10");
    assert.equal(parseTimeInput("10:00", { ...WED, date: fixed }), us("2030-06-10T08:00:00Z"));
    assert.equal(
      parseTimeInput("tomorrow 10:00", { ...WED, date: fixed }),
      us("2030-01-03T09:00:00Z"),
      "a time with its own day keeps it",
    );
    assert.equal(
      parseTimeInput("+1h", { ...WED, date: fixed }),
      BigInt(WED.now + 3_600_000) * 1000n,
    );
    assert.deepEqual(resolveDay(parseDayInput("Fri"), WED.now), { year: 2030, month: 1, day: 4 });
  });

  it("days cross month, year and daylight-saving boundaries on the calendar", () => {
    const newYearsEve = { now: at("2030-12-31T12:00:00Z") };
    assert.equal(parseTimeInput("tomorrow 10:00", newYearsEve), us("2031-01-01T09:00:00Z"));
    const endOfFeb = { now: at("2032-02-28T12:00:00Z") };
    assert.equal(parseTimeInput("tomorrow 10:00", endOfFeb), us("2032-02-29T09:00:00Z"), "leap");
    // 2030-03-31: Berlin moves from +01:00 to +02:00 at 02:00.
    const beforeSpring = { now: at("2030-03-30T22:30:00Z") }; // 23:30 local on the 30th
    assert.equal(parseTimeInput("tomorrow 10:00", beforeSpring), us("2030-03-31T08:00:00Z"));
    assert.equal(parseTimeInput("sun 01:59", beforeSpring), us("2030-03-31T00:59:00Z"));
    refused("tomorrow 02:30", /does not exist in the local time zone/, beforeSpring);
    // 2030-10-27: back from +02:00 to +01:00; the day after still starts at local midnight.
    const beforeAutumn = { now: at("2030-10-26T21:30:00Z") }; // 23:30 local on the 26th
    assert.equal(parseTimeInput("tomorrow", beforeAutumn), us("2030-10-26T22:00:00Z"));
    assert.equal(parseTimeInput("tomorrow 12:00", beforeAutumn), us("2030-10-27T11:00:00Z"));
  });

  it("ISO 8601 still works, with or without a zone", () => {
    assert.equal(parseTimeInput("2030-01-01T10:00", WED), us("2030-01-01T09:00:00Z"));
    assert.equal(parseTimeInput("2030-01-01 10:00", WED), us("2030-01-01T09:00:00Z"));
    assert.equal(parseTimeInput("2030-01-01t10:00:00z", WED), us("2030-01-01T10:00:00Z"));
    assert.equal(
      parseTimeInput("2030-07-01T10:00:00.123456+02:00", WED),
      us("2030-07-01T08:00:00Z") + 123_456n,
    );
    assert.equal(parseTimeInput("2030-07-01", WED), us("2030-06-30T22:00:00Z"));
  });

  it("anything else is refused, not guessed at", () => {
    const usage = /^expected an ISO 8601 time .* now, \+1h, .* tomorrow 10:00, mon 9:00$/;
    for (const text of [
      "",
      "soon",
      "next monday",
      "mo 9:00",
      "tomorrow at 10",
      "tomorrow 10",
      "10",
      "10am",
      "+",
      "+1",
      "+1x",
      "+0m",
      "1h",
      "today 10:00 extra",
      "10:00 tomorrow",
      "2030-01-01T",
      "2030-1-1",
    ]) {
      refused(text, usage);
    }
    refused("tomorrow 24:00", /is not a time of day/);
    refused("9:60", /is not a time of day/);
    refused("2030-02-29", /is not a calendar date/);
    refused("2030-02-30 10:00", /is not a calendar date/);
    refused("10:00+24:00", /out of range/);
    refused("10:00:00.1234567", /microsecond/);
    assert.throws(() => parseDayInput("10:00"), /expected a day/);
    assert.throws(() => parseDayInput("someday"), /expected a day/);
  });

  it("durations", () => {
    assert.equal(parseDuration("1h"), 3_600_000_000n);
    assert.equal(parseDuration("1H30M"), 5_400_000_000n);
    assert.equal(parseDuration("2d"), 172_800_000_000n);
    for (const bad of ["", "0m", "1", "h", "1h 30m", "-1h", "1.5h", "1w"]) {
      assert.equal(parseDuration(bad), undefined, bad);
    }
    assert.equal(formatDuration(5_400_000_000n), "1h30m");
    assert.equal(formatDuration(90_000_000_000n), "1d1h");
    assert.equal(formatDuration(45_000_000n), "0m");
  });

  it("property: `DAY H:M` has those local fields, on that day", () => {
    const days = [
      "today",
      "tomorrow",
      "yesterday",
      "mon",
      "tue",
      "wed",
      "thu",
      "fri",
      "sat",
      "sun",
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: at("2000-01-01T00:00:00Z"), max: at("2099-12-31T00:00:00Z") }),
        fc.constantFrom(...days),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        (now, word, hour, minute) => {
          const text = `${word} ${hour}:${String(minute).padStart(2, "0")}`;
          let got: bigint;
          try {
            got = parseTimeInput(text, { now });
          } catch (err) {
            // The only refusal: a wall-clock time a daylight-saving jump skips.
            assert.match((err as Error).message, /daylight-saving gap/);
            return;
          }
          const d = new Date(Number(got / 1000n));
          assert.deepEqual([d.getHours(), d.getMinutes(), d.getSeconds()], [hour, minute, 0]);
          const today = new Date(now);
          const noon = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate(), 12);
          const shift = Math.round((noon(d).getTime() - noon(today).getTime()) / 86_400_000);
          if (word === "today") assert.equal(shift, 0);
          else if (word === "tomorrow") assert.equal(shift, 1);
          else if (word === "yesterday") assert.equal(shift, -1);
          else {
            assert.ok(shift >= 0 && shift <= 6, `${text} is ${shift} days ahead`);
            assert.equal(d.getDay(), (days.indexOf(word) - 2) % 7, "mon is 1 ... sun is 0");
          }
        },
      ),
    );
  });

  it("property: +N counts from now exactly, and syntax never throws anything else", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom("d", "h", "m", "s"),
        (n, u) => {
          const unit = { d: 86_400_000_000n, h: 3_600_000_000n, m: 60_000_000n, s: 1_000_000n }[u];
          assert.equal(
            parseTimeInput(`+${n}${u}`, WED) - BigInt(WED.now) * 1000n,
            BigInt(n) * unit,
          );
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        try {
          parseTimeSyntax(text);
        } catch (err) {
          assert.ok(err instanceof TimeInputError, String(err));
        }
      }),
    );
  });
});
