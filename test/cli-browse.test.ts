import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { killAll, runCli } from "./helpers/cli-process.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const LIMIT = { timeout: 60_000 };
const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));

for (const backend of backends) {
  describe(`rsvp filter and available (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
      for (const [from, to] of [
        [9, 10],
        [11, 12],
        [12, 13],
        [15, 16],
      ] as const) {
        await t.client.reserve({
          reservation: { userId: "ann", resourceId: "cli-room", start: hour(from), end: hour(to) },
        });
      }
    });
    after(async () => {
      await killAll();
      await t.close();
    });
    const rsvp = (args: string[]) =>
      runCli([...args, "--server", t.app.grpcAddress], { TZ: "UTC" });

    it("filter pages through the reservations with the token it prints", LIMIT, async () => {
      const first = await rsvp(["filter", "--resource", "cli-room", "--page-size", "3", "--json"]);
      assert.equal(first.code, 0, first.stderr);
      const [page1] = jsonLines(first.stdout);
      assert.equal(page1.reservations.length, 3);
      assert.ok(page1.nextPageToken);
      const second = await rsvp([
        "filter",
        "--resource",
        "cli-room",
        "--page-size",
        "3",
        "--page-token",
        page1.nextPageToken,
      ]);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout.trim().split("\n").length, 2, "header and the one remaining row");
      assert.doesNotMatch(second.stderr, /next page/);
      const bad = await rsvp(["filter", "--resource", "cli-room", "--page-token", "forged"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^rsvp: .*page_token/);
    });

    it("available lists the free windows, optionally only the long ones", LIMIT, async () => {
      const range = [
        "--resource",
        "cli-room",
        "--start",
        "2030-01-01T08:00:00Z",
        "--end",
        "2030-01-01T17:00:00Z",
      ];
      const all = await rsvp(["available", ...range, "--json"]);
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(jsonLines(all.stdout), [
        { start: "2030-01-01T08:00:00Z", end: "2030-01-01T09:00:00Z" },
        { start: "2030-01-01T10:00:00Z", end: "2030-01-01T11:00:00Z" },
        { start: "2030-01-01T13:00:00Z", end: "2030-01-01T15:00:00Z" },
        { start: "2030-01-01T16:00:00Z", end: "2030-01-01T17:00:00Z" },
      ]);
      const long = await rsvp(["available", ...range, "--min", "1h30m"]);
      assert.equal(long.code, 0, long.stderr);
      assert.match(
        long.stdout,
        /^START +END +LENGTH\n2030-01-01 13:00:00\+00:00 +2030-01-01 15:00:00\+00:00 +2h\n$/,
      );
      const badMin = await rsvp(["available", ...range, "--min", "soon"]);
      assert.equal(badMin.code, 1);
      assert.match(badMin.stderr, /duration/);
    });
  });
}
