import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { killAll, runCli } from "./helpers/cli-process.js";
import { backends } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const LIMIT = { timeout: 60_000 };
const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

for (const backend of backends) {
  describe(`rsvp command line: resource quotas (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(async () => {
      await killAll();
      await t.close();
    });
    const rsvp = (...args: string[]) => runCli([...args, "--server", t.app.grpcAddress]);
    const ok = async (...args: string[]) => {
      const r = await rsvp(...args);
      assert.equal(r.code, 0, `rsvp ${args.join(" ")}: ${r.stderr}`);
      return r;
    };

    it("resource put sets a quota, get and list show it, and reserve meets it", LIMIT, async () => {
      const put = await ok(
        "resource",
        "put",
        "room-q",
        "--quota-period",
        "day",
        "--quota-max-reservations",
        "2",
        "--quota-max-time",
        "3h",
        "--json",
      );
      assert.deepEqual(jsonLines(put.stdout)[0]?.quota, {
        period: "day",
        maxReservations: 2,
        maxTime: "3h",
        perPool: false,
      });
      const table = await ok("resource", "get", "room-q");
      const [header, row] = table.stdout.trimEnd().split("\n");
      assert.match(header ?? "", /\bCAPACITY\s+QUOTA\s+NOTE$/);
      assert.match(row ?? "", /\bexclusive\s+2 times, 3h a day\s*$/);

      const book = (from: string, to: string) =>
        rsvp("reserve", "-r", "room-q", "-u", "alice", "--start", from, "--end", to);
      assert.equal((await book("2030-01-07T09:00:00Z", "2030-01-07T10:00:00Z")).code, 0);
      const long = await book("2030-01-07T11:00:00Z", "2030-01-07T14:00:00Z");
      assert.equal(long.code, 2, long.stderr);
      assert.match(long.stderr, /alice may book room-q for at most 3h a day \(quota\)/);
      assert.equal((await book("2030-01-07T11:00:00Z", "2030-01-07T12:00:00Z")).code, 0);
      const third = await book("2030-01-07T13:00:00Z", "2030-01-07T13:30:00Z");
      assert.equal(third.code, 2, third.stderr);
      assert.match(third.stderr, /alice may book room-q at most 2 times a day \(quota\)/);
      assert.equal((await book("2030-01-08T13:00:00Z", "2030-01-08T13:30:00Z")).code, 0);
    });

    it("resource put --quota-per-pool counts the pool; list shows each quota", LIMIT, async () => {
      for (const id of ["bay-1", "bay-2"]) {
        await ok(
          "resource",
          "put",
          id,
          "--pool",
          "bays",
          "--quota-period",
          "WEEK",
          "--quota-max-reservations",
          "1",
          "--quota-per-pool",
        );
      }
      await ok("resource", "put", "bay-3", "--pool", "bays");
      const list = await ok("resource", "list", "--pool", "bays");
      const rows = list.stdout.trimEnd().split("\n").slice(1);
      assert.equal(rows.length, 3);
      assert.match(rows[0] ?? "", /^bay-1\s.*\s1 time a week per pool\s*$/);
      assert.match(rows[1] ?? "", /^bay-2\s.*\s1 time a week per pool\s*$/);
      assert.match(rows[2] ?? "", /^bay-3\s.*\sexclusive\s+-\s*$/);
      const json = await ok("resource", "list", "--pool", "bays", "--json");
      assert.deepEqual(
        jsonLines(json.stdout).map((r) => r.quota),
        [
          { period: "week", maxReservations: 1, maxTime: null, perPool: true },
          { period: "week", maxReservations: 1, maxTime: null, perPool: true },
          null,
        ],
      );
      const window = ["--start", "2030-01-07T09:00:00Z", "--end", "2030-01-07T10:00:00Z"];
      await ok("reserve", "-r", "bay-1", "-u", "bob", ...window);
      const other = await rsvp("reserve", "-r", "bay-2", "-u", "bob", ...window);
      assert.equal(other.code, 2, other.stderr);
      assert.match(other.stderr, /bob may book pool bays at most 1 time a week \(quota\)/);
    });

    it("resource put replaces the quota as a whole, and refuses a bad one", LIMIT, async () => {
      await ok("resource", "put", "room-r", "--quota-period", "month", "--quota-max-time", "10h");
      const cleared = await ok("resource", "put", "room-r", "--json");
      assert.equal(jsonLines(cleared.stdout)[0]?.quota, null);
      const noPeriod = await rsvp("resource", "put", "room-r", "--quota-max-reservations", "2");
      assert.equal(noPeriod.code, 1);
      assert.match(noPeriod.stderr, /a quota needs --quota-period day, week or month/);
      const badPeriod = await rsvp("resource", "put", "room-r", "--quota-period", "year");
      assert.equal(badPeriod.code, 1);
      assert.match(badPeriod.stderr, /Allowed choices are day, week, month/);
      const badCount = await rsvp(
        "resource",
        "put",
        "room-r",
        "--quota-period",
        "day",
        "--quota-max-reservations",
        "-1",
      );
      assert.equal(badCount.code, 1);
      const kept = await ok("resource", "get", "room-r", "--json");
      assert.equal(jsonLines(kept.stdout)[0]?.quota, null, "a refused put changes nothing");
    });
  });
}
