import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { killAll, runCli } from "./helpers/cli-process.js";
import { backends } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor } from "./helpers/tokens.js";

const LIMIT = { timeout: 60_000 };
const json = (text: string) => JSON.parse(text.trim()) as Record<string, unknown>;
const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

for (const backend of backends) {
  describe(`rsvp command line: waits, check-in, cancel reasons, approval (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
    });
    after(async () => {
      await killAll();
      await t.close();
    });
    const as = async (sub: string, role: "user" | "admin") => {
      const token = await tokenFor(sub, role);
      return (...args: string[]) =>
        runCli([...args, "--server", t.app.grpcAddress, "--token", token]);
    };

    it(
      "reserve --wait, query --status waiting, cancel --reason, and the promotion",
      LIMIT,
      async () => {
        const admin = await as("root", "admin");
        const window = [
          "-r",
          "room",
          "--start",
          "2030-03-04T10:00:00Z",
          "--end",
          "2030-03-04T11:00:00Z",
        ];
        const first = await admin(
          "reserve",
          ...window,
          "-u",
          "ann",
          "--status",
          "confirmed",
          "--json",
        );
        assert.equal(first.code, 0, first.stderr);
        const taken = await admin(
          "reserve",
          ...window,
          "-u",
          "bob",
          "--status",
          "confirmed",
          "--json",
        );
        assert.equal(taken.code, 2, "without --wait a taken window is refused");
        const waits = await admin(
          "reserve",
          ...window,
          "-u",
          "bob",
          "--status",
          "confirmed",
          "--wait",
          "--json",
        );
        assert.equal(waits.code, 0, waits.stderr);
        const waiting = json(waits.stdout);
        assert.equal(waiting.status, "waiting");
        const listed = await admin("query", "-r", "room", "--status", "waiting", "--json");
        assert.deepEqual(
          listed.stdout
            .trim()
            .split("\n")
            .map((l) => json(l).id),
          [waiting.id],
        );
        const cancelled = await admin(
          "cancel",
          String(json(first.stdout).id),
          "--reason",
          "sick",
          "--json",
        );
        assert.equal(cancelled.code, 0, cancelled.stderr);
        assert.equal(json(cancelled.stdout).cancelReason, "sick");
        const promoted = await admin("get", String(waiting.id), "--json");
        assert.equal(json(promoted.stdout).status, "confirmed");
        const bad = await admin(
          "reserve",
          ...window,
          "-u",
          "bob",
          "--wait",
          "--repeat",
          "FREQ=DAILY;COUNT=2",
        );
        assert.equal(bad.code, 1);
      },
    );

    it(
      "reserve --repeat --skip-conflicts --max-skipped books nothing past the limit",
      LIMIT,
      async () => {
        const admin = await as("root", "admin");
        const taken = await admin(
          "reserve",
          "-r",
          "lab",
          "-u",
          "ann",
          "--start",
          "2030-05-07T09:00:00Z",
          "--end",
          "2030-05-07T10:00:00Z",
        );
        assert.equal(taken.code, 0, taken.stderr);
        const series = (max: string) =>
          admin(
            "reserve",
            "-r",
            "lab",
            "-u",
            "bob",
            "--start",
            "2030-05-06T09:00:00Z",
            "--end",
            "2030-05-06T10:00:00Z",
            "--repeat",
            "FREQ=DAILY;COUNT=3",
            "--skip-conflicts",
            "--max-skipped",
            max,
            "--json",
          );
        // bob's reservations in the series' days, as ids.
        const bobsIds = (...extra: string[]) =>
          admin(
            "query",
            "-r",
            "lab",
            "-u",
            "bob",
            "-o",
            "id",
            "--start",
            "2030-05-06T00:00:00Z",
            "--end",
            "2030-05-09T00:00:00Z",
            ...extra,
          );
        const unlimited = await series("0");
        assert.equal(unlimited.code, 0, "0 is no limit: the free occurrences are booked");
        assert.equal(unlimited.stdout.trim().split("\n").length, 2);
        assert.match(unlimited.stderr, /skipped occurrence 1/);
        const booked = await bobsIds();
        assert.equal(booked.code, 0, booked.stderr);
        for (const id of booked.stdout.trim().split("\n")) {
          const cancelled = await admin("cancel", id);
          assert.equal(cancelled.code, 0, cancelled.stderr);
        }
        const taken2 = await admin(
          "reserve",
          "-r",
          "lab",
          "-u",
          "ann",
          "--start",
          "2030-05-08T09:00:00Z",
          "--end",
          "2030-05-08T10:00:00Z",
        );
        assert.equal(taken2.code, 0, taken2.stderr);
        const over = await series("1");
        assert.equal(over.code, 2, "two clashes, more than one allowed: refused as a whole");
        assert.equal(over.stdout, "");
        const left = await bobsIds("--status", "pending");
        assert.equal(left.stdout.trim(), "", "nothing of the refused series was booked");
        const usage = await admin(
          "reserve",
          "-r",
          "lab",
          "-u",
          "bob",
          "--start",
          "2030-05-06T09:00:00Z",
          "--duration",
          "1h",
          "--max-skipped",
          "1",
        );
        assert.equal(usage.code, 1);
        assert.match(usage.stderr, /--max-skipped goes with --skip-conflicts/);
      },
    );

    it("checkin, and confirm saying when approval is needed", LIMIT, async () => {
      const admin = await as("root", "admin");
      const put = await admin(
        "resource",
        "put",
        "board",
        "--approval",
        "--release-after",
        "1h",
        "--json",
      );
      assert.equal(put.code, 0, put.stderr);
      assert.equal(json(put.stdout).approval, true);
      assert.equal(json(put.stdout).releaseAfter, "1h");
      const ann = await as("ann", "user");
      const made = await ann(
        "reserve",
        "-r",
        "board",
        "--start",
        inMinutes(5),
        "--end",
        inMinutes(35),
        "--status",
        "confirmed",
        "--json",
      );
      assert.equal(made.code, 0, made.stderr);
      const r = json(made.stdout);
      assert.equal(r.status, "pending", "the board room needs approval");
      const confirm = await ann("confirm", String(r.id));
      assert.equal(confirm.code, 2);
      assert.match(confirm.stderr, /"board" needs approval: only an admin may confirm/);
      const approved = await admin("confirm", String(r.id), "--json");
      assert.equal(json(approved.stdout).status, "confirmed");
      const checkin = await ann("checkin", String(r.id), "--json");
      assert.equal(checkin.code, 0, checkin.stderr);
      assert.match(String(json(checkin.stdout).checkedInAt), /^\d{4}-\d\d-\d\dT/);
    });
  });
}
