import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { createAuthenticator } from "../src/auth/authenticator.js";
import { insecureBindRefusal, isLoopback } from "../src/auth/bind-check.js";
import { ConfigError } from "../src/server/config.js";
import { killAll, runCli } from "./helpers/cli-process.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { startServer } from "./helpers/harness.js";
import { failureOf, grpcCaller } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, TEST_SECRET, tokenFor } from "./helpers/tokens.js";

const [embedded] = backends;
assert.ok(embedded);
const LIMIT = { timeout: 60_000 };
const SECRET_ENV = { RSVP_JWT_SECRET: TEST_SECRET };

describe("rsvp token and --token", () => {
  let t: TestServer;
  let bobsId: string;
  before(async () => {
    t = await startTestServer(embedded, undefined, { auth: TEST_AUTH });
    const admin = grpcCaller(t.client, await tokenFor("root", "admin"));
    const { reservation } = await admin.reserve({
      reservation: { userId: "bob", resourceId: "cli-auth", start: hour(0), end: hour(1) },
    });
    bobsId = reservation?.id ?? "";
  });
  after(async () => {
    await killAll();
    await t.close();
  });

  it(
    "mints a token the server accepts, with the asked subject, role and lifetime",
    LIMIT,
    async () => {
      const r = await runCli(
        ["token", "--sub", "alice", "--role", "service", "--ttl", "120"],
        SECRET_ENV,
      );
      assert.equal(r.code, 0, r.stderr);
      const token = r.stdout.trim();
      assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      assert.deepEqual(await createAuthenticator(TEST_AUTH).authenticate(`Bearer ${token}`), {
        sub: "alice",
        role: "service",
      });
      const { exp, iat } = decodeJwt(token);
      assert.equal((exp ?? 0) - (iat ?? 0), 120);
    },
  );

  it(
    "refuses to mint without the secret, or for a bad role or subject: one line, exit 1",
    LIMIT,
    async () => {
      const cases: Array<[string[], Record<string, string | undefined>, RegExp]> = [
        [["token", "--sub", "alice"], { RSVP_JWT_SECRET: undefined }, /set RSVP_JWT_SECRET/],
        [["token", "--sub", "alice"], { RSVP_JWT_SECRET: "short" }, /at least 32 bytes/],
        [["token", "--sub", "alice", "--role", "root"], SECRET_ENV, /Allowed choices/],
        [["token", "--sub", "x".repeat(65)], SECRET_ENV, /longer than 64/],
        [["token", "--sub", "alice", "--ttl", "0"], SECRET_ENV, /seconds > 0/],
      ];
      for (const [args, env, message] of cases) {
        const r = await runCli(args, env);
        assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^rsvp: [^\n]+\n$/);
        assert.match(r.stderr, message);
      }
    },
  );

  it("every client command sends --token / RSVP_TOKEN; a user acts as itself", LIMIT, async () => {
    const server = t.app.grpcAddress;
    const token = (await runCli(["token", "--sub", "alice"], SECRET_ENV)).stdout.trim();
    const window = ["--start=2030-01-01T03:00Z", "--end=2030-01-01T04:00Z"];
    const reserved = await runCli(
      ["reserve", "--resource=cli-auth", ...window, "--json", "--token", token],
      { RSVP_SERVER: server },
    );
    assert.equal(reserved.code, 0, reserved.stderr);
    const mine = JSON.parse(reserved.stdout) as { id: string; userId: string };
    assert.equal(mine.userId, "alice", "no --user: the token's subject");

    const env = { RSVP_SERVER: server, RSVP_TOKEN: token };
    const listed = await runCli(["query", "--resource=cli-auth", "--json"], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { id: string }).id),
      [mine.id],
      "bob's reservation on the same resource is not listed",
    );
    const confirmed = await runCli(["confirm", mine.id, "--json"], env);
    assert.equal(JSON.parse(confirmed.stdout).status, "confirmed");

    const others = await runCli(["reserve", "--resource=cli-auth", "--user=bob", ...window], env);
    assert.equal(others.code, 2);
    assert.match(
      others.stderr,
      /^rsvp: your token lets you reserve only for yourself: leave out --user/,
    );
    assert.doesNotMatch(others.stderr, /user_id/, "the terminal's words, not the API's");
    const othersList = await runCli(["query", "--resource=cli-auth", "--user=bob"], env);
    assert.equal(othersList.code, 2);
    assert.match(othersList.stderr, /^rsvp: your token lets you see only your own reservations/);
    const denied = await runCli(["cancel", bobsId], env);
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /^rsvp: reservation \S+ is not yours\n$/);
    const anonymous = await runCli(["get", mine.id], { RSVP_SERVER: server });
    assert.equal(anonymous.code, 2);
    assert.match(anonymous.stderr, /^rsvp: missing credentials.*--token.*RSVP_TOKEN.*\n$/);
    const noUser = await runCli(["reserve", "--resource=cli-auth", ...window], {
      RSVP_SERVER: server,
    });
    assert.equal(noUser.code, 1);
    assert.match(noUser.stderr, /--user/);
    const bob = await failureOf(
      grpcCaller(t.client, await tokenFor("bob", "user")).get({ id: bobsId }),
    );
    assert.equal(bob, undefined, "bob's reservation is still there");
  });
});

describe("secure by default", () => {
  it("knows loopback from everything else", () => {
    for (const host of [
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "localhost",
      "::ffff:127.0.0.1",
    ]) {
      assert.ok(isLoopback(host), host);
    }
    for (const host of [
      "0.0.0.0",
      "::",
      "10.0.0.1",
      "192.168.1.5",
      "example.com",
      "::ffff:10.0.0.1",
    ]) {
      assert.ok(!isLoopback(host), host);
    }
    assert.match(
      insecureBindRefusal("0.0.0.0", false, false) ?? "",
      /^refusing to serve on 0\.0\.0\.0 without authentication: [^\n]+--insecure/,
    );
    assert.equal(insecureBindRefusal("0.0.0.0", true, false), undefined, "with authentication");
    assert.equal(insecureBindRefusal("0.0.0.0", false, true), undefined, "told --insecure");
    assert.equal(insecureBindRefusal("127.0.0.1", false, false), undefined, "loopback");
  });

  it("the server refuses a non-loopback address without authentication, before binding anything", async () => {
    await assert.rejects(
      startServer({ kind: "embedded", dataDir: "memory://" }, { config: { host: "0.0.0.0" } }),
      (err: unknown) => err instanceof ConfigError && /without authentication/.test(err.message),
    );
  });

  it("`rsvp serve` says why in one line and exits 1", LIMIT, async () => {
    const r = await runCli(["serve"], {
      HOST: "0.0.0.0",
      PORT: "0",
      HTTP_PORT: "0",
      DATABASE_URL: "memory://",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^rsvp: refusing to serve on 0\.0\.0\.0 without authentication[^\n]*\n$/,
    );
    assert.equal(r.stdout, "");
  });
});
