import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import { timestampToMicros } from "../src/protocol/convert.js";
import { CliProcess, type EnvOverrides, killAll, runCli } from "./helpers/cli-process.js";
import { backends } from "./helpers/databases.js";
import { hour, ts } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_SECRET } from "./helpers/tokens.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LIMIT = { timeout: 60_000 };
const HOUR_US = 3_600_000_000n;
const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
const cells = (line: string | undefined) => (line ?? "").split(/ {2,}/);

/** Exactly one `rsvp: …` line on stderr and nothing on stdout. */
function assertOneLineError(r: { stdout: string; stderr: string }, pattern: RegExp) {
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^rsvp: [^\n]+\n$/, `one line, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

/** The UTC midnight of the day `days` after the one `ms` falls on (the CLI runs with TZ=UTC). */
const utcDay = (ms: number, days: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days);
};

for (const backend of backends) {
  describe(`rsvp command line for people and scripts (${backend.name})`, () => {
    let t: TestServer;
    let server: string;
    before(async () => {
      t = await startTestServer(backend);
      server = t.app.grpcAddress;
    });
    after(async () => {
      await killAll();
      await t.close();
    });

    const rsvp = (args: string[], env: EnvOverrides = {}) =>
      runCli([...args, "--server", server], env);
    const stored = async (id: string) => {
      const r = (await t.client.get({ id })).reservation;
      return [timestampToMicros("start", r?.start), timestampToMicros("end", r?.end)];
    };

    it(
      "reserve takes now, +1h, tomorrow 10:00, mon 9:00, --duration and --date",
      LIMIT,
      async () => {
        const before = Date.now();
        const made = await rsvp([
          "reserve",
          "-r",
          "h-now",
          "-u",
          "ann",
          "--start",
          "now",
          "--end",
          "+1h",
          "-o",
          "id",
        ]);
        const afterwards = Date.now();
        assert.equal(made.code, 0, made.stderr);
        const id = made.stdout.trim();
        assert.match(id, UUID, "-o id prints only the id");
        const [start = 0n, end = 0n] = await stored(id);
        assert.ok(start >= BigInt(before) * 1000n && start <= BigInt(afterwards) * 1000n);
        assert.equal(end - start, HOUR_US, "now and +1h are read at one moment");

        const t0 = Date.now();
        const tomorrow = await rsvp([
          "reserve",
          "-r",
          "h-tomorrow",
          "-u",
          "ann",
          "--start",
          "tomorrow 10:00",
          "--duration",
          "1h30m",
          "--json",
        ]);
        assert.equal(tomorrow.code, 0, tomorrow.stderr);
        const [obj] = jsonLines(tomorrow.stdout);
        // Around midnight the day may have turned between here and the CLI's clock.
        const expected = [utcDay(t0, 1), utcDay(Date.now(), 1)].map((d) =>
          new Date(d + 10 * 3_600_000).toISOString().replace(".000", ""),
        );
        assert.ok(expected.includes(obj.start), `${obj.start} is tomorrow 10:00 UTC`);
        assert.equal(Date.parse(obj.end) - Date.parse(obj.start), 90 * 60_000);

        const monday = await rsvp(["reserve", "-r", "h-mon", "-u", "ann", "--start", "MON 9:00"]);
        assert.equal(monday.code, 1, "no --end or --duration");
        assertOneLineError(monday, /'--end <time>' \(or '--duration <length>'\) not specified/);
        const mon = await rsvp(
          [
            "reserve",
            "-r",
            "h-mon",
            "-u",
            "ann",
            "--start",
            "mon 9:00",
            "--duration",
            "1h",
            "--json",
          ],
          { TZ: "Asia/Kolkata" },
        );
        assert.equal(mon.code, 0, mon.stderr);
        const monStart = new Date(JSON.parse(mon.stdout).start);
        // 09:00 in Kolkata is 03:30 UTC, on a Monday, within the coming week.
        assert.deepEqual(
          [monStart.getUTCDay(), monStart.getUTCHours(), monStart.getUTCMinutes()],
          [1, 3, 30],
        );
        assert.ok(monStart.getTime() - Date.now() < 7 * 86_400_000);

        const dated = await rsvp(
          [
            "reserve",
            "-r",
            "h-date",
            "-u",
            "ann",
            "--date",
            "2030-01-07",
            "--start",
            "9:00",
            "--end",
            "10:30",
            "--json",
          ],
          { TZ: "Europe/Berlin" },
        );
        assert.equal(dated.code, 0, dated.stderr);
        const [dStart, dEnd] = await stored(JSON.parse(dated.stdout).id);
        assert.deepEqual(
          [dStart, dEnd],
          [micros("2030-01-07T08:00:00Z"), micros("2030-01-07T09:30:00Z")],
        );

        const bad = await rsvp([
          "reserve",
          "-r",
          "h-bad",
          "-u",
          "ann",
          "--start",
          "next week",
          "--duration",
          "1h",
        ]);
        assert.equal(bad.code, 1);
        assertOneLineError(
          bad,
          /argument 'next week' is invalid\. expected an ISO 8601 time .*tomorrow 10:00/,
        );
        const both = await rsvp([
          "reserve",
          "-r",
          "h-bad",
          "-u",
          "ann",
          "--start",
          "now",
          "--end",
          "+2h",
          "--duration",
          "1h",
        ]);
        assert.equal(both.code, 1);
        assertOneLineError(both, /--end or --duration, not both/);
      },
    );

    it("update moves a reservation: --start/--end, --duration, --start alone", LIMIT, async () => {
      const { reservation } = await t.client.reserve({
        reservation: {
          userId: "ann",
          resourceId: "h-move",
          start: hour(10),
          end: hour(11),
          note: "n",
        },
      });
      const id = reservation?.id ?? "";
      const moved = await rsvp([
        "update",
        id,
        "--start",
        "2030-01-01T14:00:00Z",
        "--end",
        "2030-01-01T16:00:00Z",
        "--json",
      ]);
      assert.equal(moved.code, 0, moved.stderr);
      assert.deepEqual(
        [
          JSON.parse(moved.stdout).start,
          JSON.parse(moved.stdout).end,
          JSON.parse(moved.stdout).note,
        ],
        ["2030-01-01T14:00:00Z", "2030-01-01T16:00:00Z", "n"],
        "the note is kept when only the window moves",
      );

      const longer = await rsvp(["update", id, "--duration", "3h", "-o", "id"]);
      assert.equal(longer.code, 0, longer.stderr);
      assert.equal(longer.stdout, `${id}\n`);
      assert.deepEqual(await stored(id), [
        micros("2030-01-01T14:00:00Z"),
        micros("2030-01-01T17:00:00Z"),
      ]);

      const shifted = await rsvp(
        ["update", id, "--date", "2030-01-02", "--start", "9:00", "-n", "moved"],
        {
          TZ: "UTC",
        },
      );
      assert.equal(shifted.code, 0, shifted.stderr);
      assert.deepEqual(
        await stored(id),
        [micros("2030-01-02T09:00:00Z"), micros("2030-01-02T12:00:00Z")],
        "--start alone keeps the length",
      );
      assert.equal((await t.client.get({ id })).reservation?.note, "moved");

      const endOnly = await rsvp(["update", id, "--end", "2030-01-02T10:00:00Z"]);
      assert.equal(endOnly.code, 0, endOnly.stderr);
      assert.deepEqual(await stored(id), [
        micros("2030-01-02T09:00:00Z"),
        micros("2030-01-02T10:00:00Z"),
      ]);

      await t.client.reserve({
        reservation: {
          userId: "bob",
          resourceId: "h-move",
          start: ts("2030-01-02T12:00:00Z"),
          end: ts("2030-01-02T13:00:00Z"),
        },
      });
      const clash = await rsvp([
        "update",
        id,
        "--start",
        "2030-01-02T11:30:00Z",
        "--duration",
        "1h",
      ]);
      assert.equal(clash.code, 2);
      assertOneLineError(
        clash,
        /^rsvp: resource "h-move" is already reserved for \[2030-01-02 12:00:00\+00:00/,
      );
      assert.deepEqual(
        await stored(id),
        [micros("2030-01-02T09:00:00Z"), micros("2030-01-02T10:00:00Z")],
        "a refused move changes nothing",
      );

      const nothing = await rsvp(["update", id]);
      assert.equal(nothing.code, 1);
      assertOneLineError(nothing, /nothing to change/);
    });

    it("-o id, json and table everywhere; ids feed the next command", LIMIT, async () => {
      const ids: string[] = [];
      for (const h of [8, 9, 10]) {
        const r = await rsvp([
          "reserve",
          "-r",
          "h-out",
          "-u",
          "cy",
          "--start",
          `2030-01-03T${h}:00:00Z`,
          "--duration",
          "1h",
          "-o",
          "id",
        ]);
        assert.equal(r.code, 0, r.stderr);
        ids.push(r.stdout.trim());
      }
      const listed = await rsvp(["query", "-r", "h-out", "-o", "id"]);
      assert.deepEqual([listed.code, listed.stdout, listed.stderr], [0, `${ids.join("\n")}\n`, ""]);
      const page = await rsvp(["filter", "-r", "h-out", "-o", "id", "--page-size", "2"]);
      assert.equal(page.stdout, `${ids.slice(0, 2).join("\n")}\n`);
      assert.match(page.stderr, /^next page: --page-token \S+\n$/);

      const [first = ""] = ids;
      const cancelled = await rsvp(["cancel", first, "-o", "json"]);
      assert.equal(JSON.parse(cancelled.stdout).status, "cancelled");
      const got = await rsvp(["get", first, "-o", "table"]);
      assert.deepEqual(cells(got.stdout.split("\n")[1]).slice(0, 3), [first, "cancelled", "h-out"]);
      const confirmed = await rsvp(["confirm", ids[1] ?? "", "-o", "id"]);
      assert.equal(confirmed.stdout, `${ids[1]}\n`);

      const queried = jsonLines(
        (await rsvp(["query", "-r", "h-out", "--status", "CONFIRMED", "-o", "JSON"])).stdout,
      );
      assert.deepEqual(
        queried.map((o) => [o.id, o.status]),
        [[ids[1], "confirmed"]],
        "enums in any case",
      );
      const day = await rsvp(["query", "-r", "h-out", "--date", "2030-01-03", "-o", "id"], {
        TZ: "UTC",
      });
      assert.equal(day.stdout, `${ids.slice(1).join("\n")}\n`, "--date alone is that whole day");
      const nextDay = await rsvp(["query", "-r", "h-out", "--date", "2030-01-04", "-o", "id"], {
        TZ: "UTC",
      });
      assert.deepEqual([nextDay.code, nextDay.stdout], [0, ""]);

      const free = await rsvp(["available", "-r", "h-out", "--date", "2030-01-03", "-o", "json"], {
        TZ: "UTC",
      });
      assert.equal(free.code, 0, free.stderr);
      assert.deepEqual(jsonLines(free.stdout), [
        { start: "2030-01-03T00:00:00Z", end: "2030-01-03T09:00:00Z" },
        { start: "2030-01-03T11:00:00Z", end: "2030-01-04T00:00:00Z" },
      ]);
      const noIds = await rsvp(["available", "-r", "h-out", "--date", "2030-01-03", "-o", "id"]);
      assert.equal(noIds.code, 1);
      assertOneLineError(noIds, /free windows have no ids/);

      const tail = new CliProcess(["listen", "-r", "h-out", "-o", "id", "--server", server]);
      await tail.waitFor("listening", () => tail.stderr.includes("listening on"));
      await t.client.cancel({ id: ids[2] ?? "" });
      await tail.waitFor("one event", () => tail.lines().length >= 1);
      assert.deepEqual(await tail.stop("SIGINT"), { code: 0, signal: null });
      assert.deepEqual(tail.lines(), [ids[2]]);

      const badFormat = await rsvp(["get", first, "-o", "yaml"]);
      assert.equal(badFormat.code, 1);
      assertOneLineError(badFormat, /Allowed choices are table, wide, json, id/);
      const conflicting = await rsvp(["get", first, "-o", "table", "--json"]);
      assert.equal(conflicting.code, 1);
      assertOneLineError(conflicting, /--json.*cannot be used with.*--output/);
    });

    it("global options go before or after the subcommand; --version", LIMIT, async () => {
      const { reservation } = await t.client.reserve({
        reservation: { userId: "dee", resourceId: "h-global", start: hour(1), end: hour(2) },
      });
      const id = reservation?.id ?? "";
      for (const args of [
        ["--server", server, "-o", "json", "get", id],
        ["-s", server, "get", id, "--json"],
        ["get", "-o", "json", id, "-s", server],
        ["--timeout", "5", "get", id, "--server", server, "--output", "json"],
      ]) {
        const r = await runCli(args);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(JSON.parse(r.stdout).id, id, args.join(" "));
      }
      const envServer = await runCli(["-o", "id", "get", id], { RSVP_SERVER: server });
      assert.equal(envServer.stdout, `${id}\n`);

      const { version } = JSON.parse(readFileSync("package.json", "utf8"));
      for (const flag of ["--version", "-V"]) {
        const v = await runCli([flag]);
        assert.deepEqual([v.code, v.stdout, v.stderr], [0, `${version}\n`, ""]);
      }
      const token = await runCli(["token", "--sub", "dee", "--role", "ADMIN"], {
        RSVP_JWT_SECRET: TEST_SECRET,
      });
      assert.equal(token.code, 0, token.stderr);
      const payload = JSON.parse(
        Buffer.from(token.stdout.split(".")[1] ?? "", "base64url").toString(),
      );
      assert.equal(payload.role, "admin");
      assert.equal((await t.client.get({ id })).reservation?.status, S.PENDING);
    });
  });
}
