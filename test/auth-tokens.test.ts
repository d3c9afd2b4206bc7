import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import { exportJWK, SignJWT } from "jose";
import { loadAuthConfig } from "../src/auth/auth-config.js";
import { createAuthenticator } from "../src/auth/authenticator.js";
import { RsvpError } from "../src/domain/errors.js";
import { Health, HealthCheckResponse_ServingStatus } from "../src/gen/grpc/health/v1/health_pb.js";
import { ConfigError } from "../src/server/config.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { connectCaller, connectTransport, failureOf, grpcCaller } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { badTokens, TEST_AUTH, tokenFor } from "./helpers/tokens.js";

const [embedded] = backends;
assert.ok(embedded);

describe("authentication through the server", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(embedded, undefined, { auth: TEST_AUTH });
  });
  after(() => t.close());

  it("refuses forged, expired, alg:none and malformed tokens on both transports", async () => {
    const http = connectTransport(t.app.httpAddress);
    const cases = Object.entries(await badTokens());
    for (const [what, token] of cases) {
      for (const c of [grpcCaller(t.client, token), connectCaller(http, token)]) {
        const failure = await failureOf(
          c.reserve({
            reservation: { userId: "alice", resourceId: "forged", start: hour(0), end: hour(1) },
          }),
        );
        assert.equal(failure?.code, status.UNAUTHENTICATED, `${c.transport}: ${what}`);
        const listen = await failureOf(c.listen({}));
        assert.equal(listen?.code, status.UNAUTHENTICATED, `${c.transport} listen: ${what}`);
      }
    }
    const admin = grpcCaller(t.client, await tokenFor("root", "admin"));
    assert.deepEqual(await admin.query({ resourceId: "forged" }), [], "none of them got in");
  });

  it("refuses an authorization header that is not a bearer token", async () => {
    const token = await tokenFor("alice", "user");
    for (const header of [`Basic ${token}`, token, "Bearer", "Bearer  ", `Bearer ${token} x`]) {
      const failure = await failureOf(
        t.client.get(
          { id: "00000000-0000-4000-8000-000000000000" },
          { metadata: { authorization: header } },
        ),
      );
      assert.equal(failure?.code, status.UNAUTHENTICATED, JSON.stringify(header));
    }
    const ok = await failureOf(
      t.client.get(
        { id: "00000000-0000-4000-8000-000000000000" },
        { metadata: { authorization: `bearer ${token}` } },
      ),
    );
    assert.equal(ok?.code, status.NOT_FOUND, "the scheme is case-insensitive");
  });

  it("leaves health, readiness and reflection open", async () => {
    const health = createClient(
      Health,
      createGrpcTransport({ baseUrl: `http://${t.app.grpcAddress}` }),
    );
    const check = await health.check({ service: "" });
    assert.equal(check.status, HealthCheckResponse_ServingStatus.SERVING);
    for (const path of ["/healthz", "/readyz"]) {
      const res = await fetch(`http://${t.app.httpAddress}${path}`);
      assert.equal(res.status, 200, path);
    }
  });
});

describe("verification keys", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rsvp-keys-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const claims = { sub: "alice", role: "user" };
  const sign = (alg: string, key: Parameters<SignJWT["sign"]>[0], extra: object = {}) =>
    new SignJWT({ ...claims, ...extra })
      .setProtectedHeader({ alg, kid: "k1" })
      .setExpirationTime("1h")
      .sign(key);
  /** The code `token` is refused with (undefined when accepted). */
  const refused = (auth: ReturnType<typeof createAuthenticator>, token: string) =>
    auth.authenticate(`Bearer ${token}`).then(
      () => undefined,
      (err: unknown) => (err instanceof RsvpError ? err.code : err),
    );

  it("an RS256 public key file verifies RS256 only: no HS256 signed with the public key", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const file = join(dir, "rsa.pem");
    await writeFile(file, pem);
    const config = loadAuthConfig({ RSVP_JWT_PUBLIC_KEY_FILE: file });
    assert.ok(config);
    const auth = createAuthenticator(config);
    assert.deepEqual(await auth.authenticate(`Bearer ${await sign("RS256", privateKey)}`), {
      sub: "alice",
      role: "user",
    });
    // The classic confusion: the public key's PEM text used as an HMAC secret.
    const confused = await sign("HS256", new TextEncoder().encode(pem));
    assert.equal(await refused(auth, confused), status.UNAUTHENTICATED);
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    assert.equal(await refused(auth, await sign("RS256", other)), status.UNAUTHENTICATED);
  });

  it("a JWKS file verifies ES256 by kid, with issuer and audience when configured", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    const file = join(dir, "jwks.json");
    await writeFile(file, JSON.stringify({ keys: [jwk] }));
    const config = loadAuthConfig({
      RSVP_JWKS_FILE: file,
      RSVP_JWT_ISSUER: "https://id.example",
      RSVP_JWT_AUDIENCE: "rsvp",
    });
    assert.ok(config);
    const auth = createAuthenticator(config);
    const good = await sign("ES256", privateKey, { iss: "https://id.example", aud: "rsvp" });
    assert.equal((await auth.authenticate(`Bearer ${good}`)).sub, "alice");
    const wrongIssuer = await sign("ES256", privateKey, { iss: "https://evil", aud: "rsvp" });
    assert.equal(await refused(auth, wrongIssuer), status.UNAUTHENTICATED);
    const wrongAudience = await sign("ES256", privateKey, { iss: "https://id.example" });
    assert.equal(await refused(auth, wrongAudience), status.UNAUTHENTICATED);
  });

  it("an expired token is accepted within the clock tolerance only: 30 s, or as configured", async () => {
    const secret = "s".repeat(32);
    const now = Math.floor(Date.now() / 1000);
    // Expired 10 s and 60 s ago: far enough from the tolerance's edges for a slow machine.
    const expired = (ago: number) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setExpirationTime(now - ago)
        .sign(new TextEncoder().encode(secret));
    const [recent, old] = [await expired(10), await expired(60)];
    const byDefault = createAuthenticator(loadAuthConfig({ RSVP_JWT_SECRET: secret }) ?? TEST_AUTH);
    assert.equal(await refused(byDefault, recent), undefined, "10 s late: within 30 s");
    assert.equal(await refused(byDefault, old), status.UNAUTHENTICATED, "60 s late");
    const strict = loadAuthConfig({
      RSVP_JWT_SECRET: secret,
      RSVP_JWT_CLOCK_TOLERANCE_SECONDS: "0",
    });
    assert.equal(strict?.clockToleranceSeconds, 0);
    assert.equal(
      await refused(createAuthenticator(strict ?? TEST_AUTH), recent),
      status.UNAUTHENTICATED,
    );
    const lenient = loadAuthConfig({
      RSVP_JWT_SECRET: secret,
      RSVP_JWT_CLOCK_TOLERANCE_SECONDS: "120",
    });
    assert.equal(await refused(createAuthenticator(lenient ?? TEST_AUTH), old), undefined);
  });

  it("bad key settings are one-line configuration errors", async () => {
    const p384 = join(dir, "p384.pem");
    await writeFile(
      p384,
      generateKeyPairSync("ec", { namedCurve: "P-384" })
        .publicKey.export({ type: "spki", format: "pem" })
        .toString(),
    );
    const privateJwks = join(dir, "private.json");
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await writeFile(privateJwks, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    const notJson = join(dir, "not.json");
    await writeFile(notJson, "{");
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ RSVP_JWT_SECRET: "short" }, /at least 32 bytes/],
      [{ RSVP_JWT_SECRET: "x".repeat(32), RSVP_JWKS_FILE: notJson }, /only one of/],
      [{ RSVP_JWT_PUBLIC_KEY_FILE: join(dir, "missing.pem") }, /cannot read .*ENOENT/],
      [{ RSVP_JWT_PUBLIC_KEY_FILE: notJson }, /no PEM public key/],
      [{ RSVP_JWT_PUBLIC_KEY_FILE: p384 }, /RSA \(RS256\) or P-256/],
      [{ RSVP_JWKS_FILE: notJson }, /not JSON/],
      [{ RSVP_JWKS_FILE: privateJwks }, /private key/],
      [{ RSVP_JWT_ISSUER: "https://id.example" }, /need a key/],
      [{ RSVP_JWT_SECRET: "x".repeat(32), RSVP_JWT_CLOCK_TOLERANCE_SECONDS: "-1" }, /0-300/],
      [{ RSVP_JWT_SECRET: "x".repeat(32), RSVP_JWT_CLOCK_TOLERANCE_SECONDS: "1.5" }, /0-300/],
      [{ RSVP_JWT_SECRET: "x".repeat(32), RSVP_JWT_CLOCK_TOLERANCE_SECONDS: "301" }, /0-300/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadAuthConfig(env),
        (err: unknown) =>
          err instanceof ConfigError && message.test(err.message) && !err.message.includes("\n"),
        JSON.stringify(env),
      );
    }
    assert.equal(loadAuthConfig({}), undefined, "no key: authentication off");
  });
});
