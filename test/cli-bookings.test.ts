import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
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
  describe(`rsvp command line: resources, pools, series (${backend.name})`, () => {
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

    it("resource put, get, list and delete", LIMIT, async () => {
      const put = await ok(
        "resource",
        "put",
        "room-4",
        "--pool",
        "meeting",
        "--buffer-after",
        "15m",
        "--min-notice",
        "30m",
        "--time-zone",
        "Europe/Berlin",
        "--json",
      );
      assert.deepEqual(jsonLines(put.stdout), [
        {
          id: "room-4",
          pool: "meeting",
          timeZone: "Europe/Berlin",
          bufferBefore: "0",
          bufferAfter: "15m",
          minDuration: null,
          maxDuration: null,
          minNotice: "30m",
          maxAdvance: null,
          capacity: 0,
          quota: null,
          note: "",
        },
      ]);
      const table = await ok("resource", "get", "room-4");
      const [header, row] = table.stdout.trimEnd().split("\n");
      assert.match(header ?? "", /^ID\s+POOL\s+TIME ZONE\s+BUFFERS\s+RULES/);
      assert.match(row ?? "", /^room-4\s+meeting\s+Europe\/Berlin\s+0 \/ 15m\s+notice 30m/);
      await ok("resource", "put", "room-5", "--pool", "meeting");
      await ok("resource", "put", "desk-1");
      const list = await ok("resource", "list", "--pool", "meeting", "--json");
      assert.deepEqual(
        jsonLines(list.stdout).map((r) => r.id),
        ["room-4", "room-5"],
      );
      await ok("resource", "delete", "desk-1");
      const gone = await rsvp("resource", "get", "desk-1");
      assert.equal(gone.code, 2);
      assert.match(gone.stderr, /not registered/);
      const bad = await rsvp("resource", "put", "x", "--buffer-after", "soon");
      assert.equal(bad.code, 1);
    });

    it("resource put --capacity, reserve --quantity, available --quantity", LIMIT, async () => {
      const put = await ok("resource", "put", "car-park", "--capacity", "50", "--json");
      assert.equal(jsonLines(put.stdout)[0]?.capacity, 50);
      const window = ["--start", "2030-01-01T08:00:00Z", "--end", "2030-01-01T18:00:00Z"];
      await ok("reserve", "-r", "car-park", "-u", "van-7", "--quantity", "48", ...window);
      const full = await rsvp(
        "reserve",
        "-r",
        "car-park",
        "-u",
        "van-8",
        "--quantity",
        "3",
        ...window,
      );
      assert.equal(full.code, 2, full.stderr);
      assert.match(full.stderr, /has only 2 units free throughout/);
      const avail = await ok(
        "available",
        "-r",
        "car-park",
        "--start",
        "2030-01-01T06:00:00Z",
        "--end",
        "2030-01-01T20:00:00Z",
        "--quantity",
        "3",
        "--json",
      );
      assert.deepEqual(jsonLines(avail.stdout), [
        { start: "2030-01-01T06:00:00Z", end: "2030-01-01T08:00:00Z", free: 50 },
        { start: "2030-01-01T18:00:00Z", end: "2030-01-01T20:00:00Z", free: 50 },
      ]);
      const bad = await rsvp("reserve", "-r", "car-park", "-u", "x", "--quantity", "-1", ...window);
      assert.notEqual(bad.code, 0);
    });

    it("reserve --pool and available --pool", LIMIT, async () => {
      await ok("resource", "put", "b-1", "--pool", "lot-b");
      await ok("resource", "put", "b-2", "--pool", "lot-b");
      const made = [];
      for (let i = 0; i < 2; i++) {
        const r = await ok(
          "reserve",
          "--pool",
          "lot-b",
          "-u",
          "alice",
          "--start",
          "2030-01-01T08:00:00Z",
          "--end",
          "2030-01-01T12:00:00Z",
          "--json",
        );
        made.push(jsonLines(r.stdout)[0]?.resourceId);
      }
      assert.deepEqual(made, ["b-1", "b-2"]);
      const full = await rsvp(
        "reserve",
        "--pool",
        "lot-b",
        "-u",
        "alice",
        "--start",
        "2030-01-01T09:00:00Z",
        "--end",
        "2030-01-01T10:00:00Z",
      );
      assert.equal(full.code, 2);
      assert.match(full.stderr, /no resource of pool "lot-b" is free/);
      const avail = await ok(
        "available",
        "--pool",
        "lot-b",
        "--start",
        "2030-01-01T06:00:00Z",
        "--end",
        "2030-01-01T14:00:00Z",
        "--json",
      );
      assert.deepEqual(jsonLines(avail.stdout), [
        { resourceId: "b-1", start: "2030-01-01T06:00:00Z", end: "2030-01-01T08:00:00Z" },
        { resourceId: "b-2", start: "2030-01-01T06:00:00Z", end: "2030-01-01T08:00:00Z" },
        { resourceId: "b-1", start: "2030-01-01T12:00:00Z", end: "2030-01-01T14:00:00Z" },
        { resourceId: "b-2", start: "2030-01-01T12:00:00Z", end: "2030-01-01T14:00:00Z" },
      ]);
      const both = await rsvp(
        "reserve",
        "--pool",
        "lot-b",
        "-r",
        "b-1",
        "-u",
        "a",
        "--start",
        "2030-01-02T09:00:00Z",
        "--end",
        "2030-01-02T10:00:00Z",
      );
      assert.equal(both.code, 1);
    });

    it(
      "reserve --repeat keeps local time across DST; cancel --following ends the rest",
      LIMIT,
      async () => {
        const series = await ok(
          "reserve",
          "-r",
          "berlin",
          "-u",
          "alice",
          "--start",
          "2031-03-17T08:00:00Z",
          "--end",
          "2031-03-17T09:00:00Z",
          "--repeat",
          "FREQ=WEEKLY;COUNT=3",
          "--time-zone",
          "Europe/Berlin",
          "--json",
        );
        const rows = jsonLines(series.stdout);
        assert.deepEqual(
          rows.map((r) => r.start),
          ["2031-03-17T08:00:00Z", "2031-03-24T08:00:00Z", "2031-03-31T07:00:00Z"],
        );
        const second = String(rows[1]?.id);
        await ok("cancel", second, "--following");
        const statuses = await Promise.all(
          rows.map(async (r) => (await t.client.get({ id: String(r.id) })).reservation?.status),
        );
        assert.deepEqual(statuses, [S.PENDING, S.CANCELLED, S.CANCELLED]);
      },
    );
  });
}
