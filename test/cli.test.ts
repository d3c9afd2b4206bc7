import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createRsvpClient, type RsvpClient } from "../src/client/grpc-client.js";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import {
  CliProcess,
  type EnvOverrides,
  killAll,
  runCli,
  startServe,
} from "./helpers/cli-process.js";
import { backends } from "./helpers/databases.js";
import { collect, hour, ts } from "./helpers/fixtures.js";
import { freePort } from "./helpers/free-port.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = "00000000-0000-4000-8000-000000000000";
const LIMIT = { timeout: 60_000 };

/** Table cells: columns are separated by two or more spaces. */
const cells = (line: string | undefined) => (line ?? "").split(/ {2,}/);
const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));

/** Exactly one `rsvp: …` line on stderr and nothing else: no stack trace, no stdout. */
function assertOneLineError(r: { stdout: string; stderr: string }, pattern: RegExp) {
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^rsvp: [^\n]+\n$/, `one line, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

for (const backend of backends) {
  describe(`rsvp command line (${backend.name})`, () => {
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
    const reserve = (resourceId: string, from: number, to: number, userId = "alice") =>
      t.client
        .reserve({ reservation: { userId, resourceId, start: hour(from), end: hour(to) } })
        .then((r) => r.reservation?.id ?? "");

    it("reserve prints the stored reservation as an aligned table, or JSON", LIMIT, async () => {
      const table = await rsvp([
        "reserve",
        "--resource=cli-room",
        "--user=alice",
        "--start=2030-01-01T10:00:00Z",
        "--end=2030-01-01T11:00:00Z",
        "--note=kick-off",
      ]);
      assert.equal(table.code, 0, table.stderr);
      assert.equal(table.stderr, "");
      const [header, row, ...rest] = table.stdout.trimEnd().split("\n");
      assert.deepEqual(rest, []);
      assert.deepEqual(cells(header), ["ID", "STATUS", "RESOURCE", "USER", "START", "END", "NOTE"]);
      const [id = "", ...values] = cells(row);
      assert.match(id, UUID);
      assert.deepEqual(values, [
        "pending",
        "cli-room",
        "alice",
        "2030-01-01 10:00:00+00:00",
        "2030-01-01 11:00:00+00:00",
        "kick-off",
      ]);
      assert.equal(header?.indexOf("START"), row?.indexOf("2030-01-01 10"), "columns line up");
      const stored = await t.client.get({ id });
      assert.deepEqual([stored.reservation?.start, stored.reservation?.end], [hour(10), hour(11)]);

      const json = await rsvp([
        "reserve",
        "-r",
        "cli-room",
        "-u",
        "bob",
        "--start",
        "2030-01-01T12:00:00.123456Z",
        "--end",
        "2030-01-01T14:00:00+01:00",
        "--status",
        "confirmed",
        "--json",
      ]);
      assert.equal(json.code, 0, json.stderr);
      const [obj, ...more] = jsonLines(json.stdout);
      assert.deepEqual(more, []);
      assert.match(obj.id, UUID);
      assert.deepEqual(obj, {
        id: obj.id,
        status: "confirmed",
        resourceId: "cli-room",
        userId: "bob",
        start: "2030-01-01T12:00:00.123456Z",
        end: "2030-01-01T13:00:00Z",
        note: "",
      });
      const exact = await t.client.get({ id: obj.id });
      assert.deepEqual(exact.reservation?.start, ts("2030-01-01T12:00:00Z", 123_456_000));
    });

    it("a clashing window is one line naming both windows, and exit 2", LIMIT, async () => {
      await reserve("cli-clash", 10, 11);
      const r = await rsvp(
        [
          "reserve",
          "--resource=cli-clash",
          "--user=bob",
          "--start=2030-01-01T11:30",
          "--end=2030-01-01T13:00",
        ],
        { TZ: "Europe/Berlin" },
      );
      assert.equal(r.code, 2);
      assertOneLineError(r, /^rsvp: resource "cli-clash" is already reserved for /);
      assert.equal(
        r.stderr,
        'rsvp: resource "cli-clash" is already reserved for ' +
          "[2030-01-01 11:00:00+01:00, 2030-01-01 12:00:00+01:00) " +
          "(requested [2030-01-01 11:30:00+01:00, 2030-01-01 13:00:00+01:00))\n",
      );
    });

    it("confirm, update, cancel and get act on one reservation by id", LIMIT, async () => {
      const id = await reserve("cli-life", 1, 2);
      const confirmed = await rsvp(["confirm", id]);
      assert.equal(confirmed.code, 0, confirmed.stderr);
      assert.equal(cells(confirmed.stdout.split("\n")[1])[1], "confirmed");

      const updated = await rsvp(["update", id, "--note", "moved to lunch", "--json"]);
      assert.equal(updated.code, 0, updated.stderr);
      assert.equal(JSON.parse(updated.stdout).note, "moved to lunch");

      const cancelled = await rsvp(["cancel", id, "--json"]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.equal(JSON.parse(cancelled.stdout).status, "cancelled");

      const got = await rsvp(["get", id, "--json"]);
      assert.deepEqual(JSON.parse(got.stdout), {
        id,
        status: "cancelled",
        resourceId: "cli-life",
        userId: "alice",
        start: "2030-01-01T01:00:00Z",
        end: "2030-01-01T02:00:00Z",
        note: "moved to lunch",
      });
      assert.equal((await t.client.get({ id })).reservation?.status, S.CANCELLED);

      const again = await rsvp(["confirm", id]);
      assert.equal(again.code, 2, "confirming a cancelled reservation is refused");
      assertOneLineError(again, /^rsvp: .*cancel/);
      const missing = await rsvp(["get", MISSING]);
      assert.equal(missing.code, 2);
      assertOneLineError(missing, new RegExp(`^rsvp: .*${MISSING}.*not found`));
    });

    it("query filters by resource, user, status and window, in either order", LIMIT, async () => {
      const a = await reserve("cli-q", 9, 10, "alice");
      const b = await reserve("cli-q", 10, 11, "bob");
      const c = await reserve("cli-q", 12, 13, "alice");
      const d = await reserve("cli-q", 13, 14, "bob");
      await t.client.cancel({ id: d });
      const ids = async (...args: string[]) => {
        const r = await rsvp(["query", "--resource", "cli-q", "--json", ...args]);
        assert.equal(r.code, 0, r.stderr);
        return jsonLines(r.stdout).map((o) => o.id);
      };
      assert.deepEqual(await ids(), [a, b, c], "live ones by start");
      assert.deepEqual(await ids("--desc"), [c, b, a]);
      assert.deepEqual(await ids("--user", "alice"), [a, c]);
      assert.deepEqual(await ids("--status", "cancelled"), [d]);
      assert.deepEqual(
        await ids("--start", "2030-01-01T10:30:00Z", "--end", "2030-01-01T12:30:00Z"),
        [b, c],
        "overlapping the window",
      );

      const table = await rsvp(["query", "--resource", "cli-q", "--user", "bob"]);
      const lines = table.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 2);
      assert.deepEqual(cells(lines[1]).slice(0, 3), [b, "pending", "cli-q"]);

      const none = await rsvp(["query", "--resource", "cli-nothing-here"]);
      assert.deepEqual([none.code, none.stdout, none.stderr], [0, "", "no reservations match\n"]);
    });

    it("bad input is one line and exit 1, and nothing is reserved", LIMIT, async () => {
      const base = ["reserve", "--resource=cli-bad", "--user=u"];
      const cases: Array<[string[], RegExp]> = [
        [
          [...base, "--start=nope", "--end=2030-01-01T11:00"],
          /^rsvp: option '--start <time>' argument 'nope' is invalid\. expected an ISO 8601 time/,
        ],
        [[...base, "--start=2030-02-30T10:00", "--end=2030-03-01"], /is not a calendar date/],
        [[...base, "--start=2030-01-01T10:00"], /^rsvp: required option '--end <time>'/],
        [["reserve", "--resource=cli-bad", "--start=2030-01-01", "--end=2030-01-02"], /--user/],
        [[...base, "--start=2030-01-01T11:00", "--end=2030-01-01T10:00"], /^rsvp: .*end/],
        [[...base, "--start=2030-01-01", "--end=2030-01-02", "--status=late"], /Allowed choices/],
        [["get", "not-a-uuid"], /^rsvp: .*uuid/],
        [["frobnicate"], /^rsvp: unknown command 'frobnicate'/],
      ];
      for (const [args, pattern] of cases) {
        const r = await rsvp(args);
        assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
        assertOneLineError(r, pattern);
      }
      assert.deepEqual(await collect(t.client.query({ resourceId: "cli-bad" })), []);
    });

    it("an unreachable server is one line and exit 3; RSVP_SERVER picks it", LIMIT, async () => {
      const nowhere = `127.0.0.1:${await freePort()}`;
      const flag = await runCli(["get", MISSING, "--server", nowhere]);
      assert.equal(flag.code, 3);
      assertOneLineError(
        flag,
        new RegExp(`^rsvp: cannot reach the server at ${nowhere}: .*ECONNREFUSED`),
      );

      const env = await runCli(["query"], { RSVP_SERVER: nowhere });
      assert.equal(env.code, 3);
      assertOneLineError(env, new RegExp(`^rsvp: cannot reach the server at ${nowhere}`));

      const id = await reserve("cli-env", 3, 4);
      const ok = await runCli(["get", id, "--json"], { RSVP_SERVER: server });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).id, id);
    });

    it("prints times in the TZ zone and reads a time without zone as local", LIMIT, async () => {
      const kolkata = { TZ: "Asia/Kolkata" };
      const made = await rsvp(
        [
          "reserve",
          "-r",
          "cli-tz",
          "-u",
          "ravi",
          "--start",
          "2030-01-01T10:00",
          "--end",
          "2030-01-01 11:30",
        ],
        kolkata,
      );
      assert.equal(made.code, 0, made.stderr);
      const row = cells(made.stdout.split("\n")[1]);
      assert.deepEqual(row.slice(4, 6), ["2030-01-01 10:00:00+05:30", "2030-01-01 11:30:00+05:30"]);
      const id = row[0] ?? "";
      const stored = await t.client.get({ id });
      assert.deepEqual(stored.reservation?.start, ts("2030-01-01T04:30:00Z"));

      const json = await rsvp(["get", id, "--json"], kolkata);
      assert.equal(JSON.parse(json.stdout).start, "2030-01-01T04:30:00Z", "JSON is UTC");
      const ny = await rsvp(["get", id], { TZ: "America/New_York" });
      assert.equal(cells(ny.stdout.split("\n")[1])[4], "2029-12-31 23:30:00-05:00");

      const gap = await rsvp(
        [
          "reserve",
          "-r",
          "cli-tz",
          "-u",
          "ravi",
          "--start",
          "2030-03-31T02:30",
          "--end",
          "2030-03-31T04:00",
        ],
        { TZ: "Europe/Berlin" },
      );
      assert.equal(gap.code, 1);
      assertOneLineError(gap, /daylight-saving gap/);
    });

    it("listen is a live tail, resumable from a cursor, ended by a signal", LIMIT, async () => {
      const tail = new CliProcess([
        "listen",
        "--server",
        server,
        "--resource",
        "cli-tail",
        "--json",
      ]);
      await tail.waitFor("listening", () => tail.stderr.includes(`listening on ${server}`));
      const id = await reserve("cli-tail", 5, 6);
      await reserve("cli-elsewhere", 5, 6);
      await t.client.confirm({ id });
      await t.client.update({ id, note: "bring snacks" });
      await t.client.cancel({ id });
      await tail.waitFor("four events", () => tail.lines().length >= 4);
      assert.deepEqual(await tail.stop("SIGINT"), { code: 0, signal: null });
      const events = jsonLines(tail.stdout);
      assert.deepEqual(
        events.map((e) => [e.op, e.reservation.id, e.reservation.status, e.reservation.note]),
        [
          ["create", id, "pending", ""],
          ["update", id, "confirmed", ""],
          ["update", id, "confirmed", "bring snacks"],
          ["delete", id, "cancelled", "bring snacks"],
        ],
        "only cli-tail, in commit order",
      );
      const cursors = events.map((e) => e.cursor as string);
      assert.equal(new Set(cursors).size, 4);

      // From the first event's cursor, as a narrow table: within 100 columns, no cursors.
      const narrow = new CliProcess([
        "listen",
        "--server",
        server,
        "-r",
        "cli-tail",
        "--cursor",
        cursors[0] ?? "",
      ]);
      await narrow.waitFor("three rows", () => narrow.lines().length >= 4);
      assert.deepEqual(await narrow.stop("SIGTERM"), { code: 0, signal: null });
      const [narrowHeader, ...narrowRows] = narrow.lines();
      assert.deepEqual(cells(narrowHeader), [
        "OP",
        "ID",
        "STATUS",
        "RESOURCE",
        "USER",
        "WHEN",
        "NOTE",
      ]);
      const when = "01-01 05:00–06:00";
      assert.deepEqual(
        narrowRows.map((r) => cells(r).slice(0, 6)),
        [
          ["update", id, "confirmed", "cli-tail", "alice", when],
          ["update", id, "confirmed", "cli-tail", "alice", when],
          ["delete", id, "cancelled", "cli-tail", "alice", when],
        ],
      );
      // The note gets what is left of 100 columns: whole, or its start and an ellipsis.
      for (const r of narrowRows.slice(1)) {
        const note = cells(r)[6] ?? "";
        const whole = note === "bring snacks";
        assert.ok(whole || /^bring .*…$/.test(note), `the note as ${JSON.stringify(note)}`);
        assert.ok(whole || r.length === 100, "cut at the 100th column");
      }
      for (const line of narrow.lines()) {
        assert.ok(line.length <= 100, `${line.length} columns: ${line}`);
        assert.ok(!cursors.some((c) => line.includes(c)), "no cursor in the narrow table");
      }

      // -o wide: every column, cursors too; the rest replayed, then live until SIGTERM.
      const replay = new CliProcess([
        "listen",
        "--server",
        server,
        "-o",
        "wide",
        "-r",
        "cli-tail",
        "--cursor",
        cursors[0] ?? "",
      ]);
      await replay.waitFor("three rows", () => replay.lines().length >= 4);
      assert.deepEqual(await replay.stop("SIGTERM"), { code: 0, signal: null });
      const [header, ...rows] = replay.lines();
      assert.deepEqual(cells(header), [
        "OP",
        "ID",
        "STATUS",
        "RESOURCE",
        "USER",
        "START",
        "END",
        "CURSOR",
        "NOTE",
      ]);
      assert.deepEqual(
        rows.map((r) => [cells(r)[0], cells(r)[7]]),
        [
          ["update", cursors[1]],
          ["update", cursors[2]],
          ["delete", cursors[3]],
        ],
      );
      assert.equal(header?.indexOf("START"), rows[0]?.indexOf("2030"), "columns line up");
    });

    // Two server start-ups, each creating or opening a database: slow on a busy machine.
    const RESTART_LIMIT = { timeout: 180_000 };
    it(
      "listen resumes after its server restarts: every change exactly once",
      RESTART_LIMIT,
      async () => {
        const port = await freePort();
        const address = `127.0.0.1:${port}`;
        const dataDir = await mkdtemp(join(tmpdir(), "rsvp-cli-"));
        // Postgres: a second server shares the database and takes writes while this one is down.
        // Embedded: one process owns its files, so writes wait for the restarted server.
        const target = t.database.target;
        const shared = target.kind === "postgres";
        const env: EnvOverrides =
          target.kind === "postgres"
            ? { DATABASE_URL: target.url }
            : { DATABASE_URL: "", RSVP_DATA_DIR: dataDir };
        const direct: RsvpClient = createRsvpClient(address);
        try {
          let serve = await startServe(port, env);
          const writer = shared ? t.client : direct;
          const tail = new CliProcess(["listen", "--server", address, "--json"]);
          await tail.waitFor("listening", () => tail.stderr.includes("listening on"));
          const first = await writer.reserve({
            reservation: { userId: "u", resourceId: "cli-restart", start: hour(1), end: hour(2) },
          });
          const id = first.reservation?.id ?? "";
          await tail.waitFor("the first event", () => tail.lines().length >= 1);

          // An abrupt drop on Postgres, a graceful shutdown (the stream just ends) embedded.
          await serve.stop(shared ? "SIGKILL" : "SIGTERM");
          await tail.waitFor("the drop", () => tail.stderr.includes("connection lost"));
          if (shared) {
            await writer.confirm({ id });
            await writer.update({ id, note: "while down" });
          }
          serve = await startServe(port, env);
          if (!shared) {
            await writer.confirm({ id });
            await writer.update({ id, note: "while down" });
          }
          await writer.cancel({ id });
          await tail.waitFor("four events", () => tail.lines().length >= 4, 30_000);
          assert.deepEqual(await tail.stop("SIGINT"), { code: 0, signal: null });
          await serve.stop("SIGTERM");

          const events = jsonLines(tail.stdout);
          assert.deepEqual(
            events.map((e) => [e.op, e.reservation.id, e.reservation.status, e.reservation.note]),
            [
              ["create", id, "pending", ""],
              ["update", id, "confirmed", ""],
              ["update", id, "confirmed", "while down"],
              ["delete", id, "cancelled", "while down"],
            ],
          );
          assert.ok(
            tail.stderr.includes(`resuming after cursor ${events[0]?.cursor}`),
            `resumed from the first event's cursor:\n${tail.stderr}`,
          );
        } finally {
          direct.close();
          await killAll();
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    );
  });
}
