import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { ReservationStatus } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { httpBase } from "./helpers/harness.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

// Reads a calendar on stdin with Python's icalendar and prints what it understood as JSON,
// with every parse error it collected (icalendar records them on the component rather than
// raising). A time's isoformat ends in +00:00 only if it was read as UTC, not floating.
const PARSE = `
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.buffer.read())
out = {"name": str(cal.get("X-WR-CALNAME")), "errors": [], "events": [], "freebusy": []}
for c in cal.walk():
    out["errors"] += ["%s: %s" % (c.name, e) for e in c.errors]
    if c.name == "VEVENT":
        out["events"].append({
            "uid": str(c["UID"]), "summary": str(c["SUMMARY"]),
            "description": str(c.get("DESCRIPTION", "")),
            "start": c.decoded("DTSTART").isoformat(), "end": c.decoded("DTEND").isoformat(),
            "sequence": int(c.decoded("SEQUENCE")), "status": str(c["STATUS"])})
    if c.name == "VFREEBUSY":
        periods = c.get("FREEBUSY", [])
        for p in periods if isinstance(periods, list) else [periods]:
            out["freebusy"].append("%s %s %s" % (p.params.get("FBTYPE"), p.start.isoformat(), p.end.isoformat()))
print(json.dumps(out))
`;

interface Parsed {
  name: string;
  errors: string[];
  events: {
    uid: string;
    summary: string;
    description: string;
    start: string;
    end: string;
    sequence: number;
    status: string;
  }[];
  freebusy: string[];
}

// icalendar is Debian's python3-icalendar, which installs into the system interpreter: a
// python3 earlier on PATH (a virtualenv, pyenv) may lack it.
const python = ["python3", "/usr/bin/python3"].find(
  (bin) => spawnSync(bin, ["-c", "import icalendar"], { stdio: "ignore" }).status === 0,
);

function parseWithPython(text: string): Parsed {
  assert.ok(python);
  const run = spawnSync(python, ["-c", PARSE], { input: text, encoding: "utf8" });
  assert.equal(run.status, 0, `python's icalendar failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Parsed;
}

if (python === undefined && process.env.CI !== "true") {
  // As the Postgres suites do without a server: said plainly, and required in CI (.ci/run
  // installs python3-icalendar).
  console.log(
    "calendar-python: NOT RUN. No python3 with the icalendar module; install Debian's python3-icalendar.",
  );
} else {
  for (const backend of backends) {
    describe(`calendar feeds read by Python's icalendar (${backend.name})`, () => {
      let t: TestServer;
      let base: string;
      before(async () => {
        assert.ok(python, "CI needs python3 with the icalendar module (python3-icalendar)");
        t = await startTestServer(backend);
        base = `${httpBase(t.app)}/calendar`;
      });
      after(() => t?.close());

      it("parses a feed with escaping, folding, unicode and a reschedule cleanly", async () => {
        const note = `Kickoff; agenda, notes \\ "quoted"\nsecond line ${"Grüße €😀 日本 ".repeat(10)}`;
        const { reservation } = await t.client.reserve({
          reservation: {
            userId: "jürgen",
            resourceId: "py-room",
            start: ts("2030-01-02T09:00:00Z"),
            end: ts("2030-01-02T10:30:00Z"),
            note,
            status: ReservationStatus.CONFIRMED,
          },
        });
        const id = reservation?.id ?? "";
        const url = `${base}/resources/py-room.ics?start=2030-01-01T00:00:00Z&end=2030-02-01T00:00:00Z`;
        const first = parseWithPython(await (await fetch(url)).text());
        assert.deepEqual(first.errors, []);
        assert.equal(first.events.length, 1);
        const [was] = first.events;
        assert.deepEqual(
          { ...was, sequence: 0 },
          {
            uid: id,
            summary: "py-room: jürgen",
            description: note,
            start: "2030-01-02T09:00:00+00:00",
            end: "2030-01-02T10:30:00+00:00",
            sequence: 0,
            status: "CONFIRMED",
          },
        );

        await t.client.update({
          id,
          start: ts("2030-01-03T14:00:00Z"),
          end: ts("2030-01-03T15:00:00Z"),
        });
        const second = parseWithPython(await (await fetch(url)).text());
        assert.deepEqual(second.errors, []);
        const [now] = second.events;
        assert.equal(now?.uid, id, "a reschedule keeps the UID");
        assert.equal(now?.start, "2030-01-03T14:00:00+00:00");
        assert.equal(now?.end, "2030-01-03T15:00:00+00:00");
        assert.ok(
          (now?.sequence ?? 0) > (was?.sequence ?? 0),
          `SEQUENCE grows: ${was?.sequence} then ${now?.sequence}`,
        );
      });

      it("parses a free/busy answer cleanly", async () => {
        await t.client.reserve({
          reservation: {
            userId: "u",
            resourceId: "py-fb",
            start: ts("2030-01-05T09:00:00Z"),
            end: ts("2030-01-05T10:00:00Z"),
            status: ReservationStatus.CONFIRMED,
          },
        });
        await t.client.reserve({
          reservation: {
            userId: "u",
            resourceId: "py-fb",
            start: ts("2030-01-05T11:00:00Z"),
            end: ts("2030-01-05T12:00:00Z"),
          },
        });
        const text = await (
          await fetch(
            `${base}/resources/py-fb/freebusy.ics?start=2030-01-05T00:00:00Z&end=2030-01-06T00:00:00Z`,
          )
        ).text();
        const parsed = parseWithPython(text);
        assert.deepEqual(parsed.errors, []);
        assert.deepEqual(parsed.freebusy.sort(), [
          "BUSY 2030-01-05T09:00:00+00:00 2030-01-05T10:00:00+00:00",
          "BUSY-TENTATIVE 2030-01-05T11:00:00+00:00 2030-01-05T12:00:00+00:00",
        ]);
      });
    });
  }
}
