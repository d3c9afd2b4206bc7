import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { mintToken } from "../src/auth/mint-token.js";
import { runCli } from "./helpers/cli-process.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { httpBase } from "./helpers/harness.js";
import { eventsById, fetchCalendar } from "./helpers/ics.js";
import { failureOf, grpcCaller } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, TEST_SECRET, tokenFor } from "./helpers/tokens.js";

const RANGE = "start=2030-01-01T00:00:00Z&end=2030-02-01T00:00:00Z";
const feedToken = (sub: string, role: "user" | "admin") =>
  mintToken(new TextEncoder().encode(TEST_SECRET), { sub, role, ttlSeconds: 3600, feed: true });

for (const backend of backends) {
  describe(`calendar feeds with authentication on (${backend.name})`, () => {
    let t: TestServer;
    let base: string;
    const ids: Record<string, string> = {};
    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
      base = `${httpBase(t.app)}/calendar`;
      const admin = grpcCaller(t.client, await tokenFor("root", "admin"));
      for (const [user, h] of [
        ["alice", 10],
        ["bob", 12],
      ] as const) {
        const { reservation } = await admin.reserve({
          reservation: {
            userId: user,
            resourceId: "secret-room",
            start: ts(`2030-01-02T${h}:00:00Z`),
            end: ts(`2030-01-02T${h + 1}:00:00Z`),
            note: `${user}'s private agenda`,
          },
        });
        ids[user] = reservation?.id ?? "";
      }
    });
    after(() => t?.close());

    it("is 401 without a token, or with a wrong one, and says nothing more", async () => {
      const wrong = {
        none: "",
        "an ordinary bearer token in the URL": `token=${await tokenFor("alice", "admin")}`,
        garbage: "token=a.b.c",
      };
      for (const [what, query] of Object.entries(wrong)) {
        for (const path of [
          "resources/secret-room.ics",
          "pools/no-such-pool.ics",
          "users/bob.ics",
        ]) {
          const got = await fetchCalendar(`${base}/${path}?${query}&${RANGE}`);
          assert.equal(got.status, 401, `${what}: ${path}`);
          assert.equal(got.text, "unauthorized\n", "no detail, not even whether it exists");
          assert.equal(got.headers.get("www-authenticate"), "Bearer");
        }
      }
    });

    it("shows a user its own reservations in full and everyone else's as Busy", async () => {
      const got = await fetchCalendar(
        `${base}/resources/secret-room.ics?token=${await feedToken("alice", "user")}&${RANGE}`,
      );
      assert.equal(got.status, 200);
      const events = eventsById(got.calendar);
      assert.equal(events.get(ids.alice ?? "")?.summary, "secret-room: alice");
      assert.equal(events.get(ids.alice ?? "")?.description, "alice's private agenda");
      const bobs = events.get(ids.bob ?? "");
      assert.equal(bobs?.summary, "Busy");
      assert.equal(bobs?.component.getFirstPropertyValue("description"), null);
      assert.ok(!got.text.includes("bob"), "neither bob's name nor his note appears");
    });

    it("shows an admin everyone's, by feed token or bearer header", async () => {
      const viaToken = await fetchCalendar(
        `${base}/resources/secret-room.ics?token=${await feedToken("root", "admin")}&${RANGE}`,
      );
      const viaHeader = await fetchCalendar(`${base}/resources/secret-room.ics?${RANGE}`, {
        authorization: `Bearer ${await tokenFor("root", "admin")}`,
      });
      for (const got of [viaToken, viaHeader]) {
        assert.equal(got.status, 200);
        assert.equal(eventsById(got.calendar).get(ids.bob ?? "")?.summary, "secret-room: bob");
      }
    });

    it("gives a user its own calendar and 403 for another's", async () => {
      const token = await feedToken("alice", "user");
      const own = await fetchCalendar(`${base}/users/alice.ics?token=${token}&${RANGE}`);
      assert.deepEqual([...eventsById(own.calendar).keys()], [ids.alice]);
      assert.equal(
        (await fetchCalendar(`${base}/users/bob.ics?token=${token}&${RANGE}`)).status,
        403,
      );
      const admin = await feedToken("root", "admin");
      const bobs = await fetchCalendar(`${base}/users/bob.ics?token=${admin}&${RANGE}`);
      assert.deepEqual([...eventsById(bobs.calendar).keys()], [ids.bob]);
    });

    it("never accepts a feed token for an rpc", async () => {
      const caller = grpcCaller(t.client, await feedToken("root", "admin"));
      const failure = await failureOf(caller.get({ id: ids.alice ?? "" }));
      assert.equal(failure?.code, 16, "UNAUTHENTICATED");
    });

    it("takes the feed token `rsvp token --feed` mints", async () => {
      const r = await runCli(["token", "--feed", "--sub", "alice"], {
        RSVP_JWT_SECRET: TEST_SECRET,
      });
      assert.equal(r.code, 0, r.stderr);
      const token = r.stdout.trim();
      const { exp, iat } = decodeJwt(token);
      assert.equal((exp ?? 0) - (iat ?? 0), 365 * 86400, "a year by default");
      const got = await fetchCalendar(`${base}/users/alice.ics?token=${token}&${RANGE}`);
      assert.equal(got.status, 200);
      const failure = await failureOf(grpcCaller(t.client, token).get({ id: ids.alice ?? "" }));
      assert.equal(failure?.code, 16, "UNAUTHENTICATED");
    });
  });
}
