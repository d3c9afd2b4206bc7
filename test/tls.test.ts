import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { createRsvpClient } from "../src/client/grpc-client.js";
import { ConfigError } from "../src/server/config.js";
import { loadTlsConfig, type TlsConfig } from "../src/server/transport/tls-config.js";
import { runCli } from "./helpers/cli-process.js";
import { cursorAt } from "./helpers/cursors.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { connectCaller, connectTransport, failureOf, grpcCaller } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { selfSigned } from "./helpers/tls-files.js";
import { TEST_AUTH, tokenFor } from "./helpers/tokens.js";

const [embedded] = backends;
assert.ok(embedded);

/** GET `path` over HTTPS trusting `ca`: the status code. */
function httpsGet(address: string, path: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get(`https://${address}${path}`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on("error", reject);
  });
}

describe("TLS on both ports", () => {
  let dir: string;
  let files: { cert: string; key: string };
  let tls: TlsConfig;
  let t: TestServer;
  let token: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rsvp-tls-"));
    files = selfSigned(dir, "server");
    const loaded = loadTlsConfig({ RSVP_TLS_CERT_FILE: files.cert, RSVP_TLS_KEY_FILE: files.key });
    assert.ok(loaded);
    tls = loaded;
    t = await startTestServer(embedded, undefined, { auth: TEST_AUTH, tls });
    token = await tokenFor("alice", "user");
  });
  after(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("native gRPC over TLS works; plaintext and an untrusted certificate do not", async () => {
    const caller = grpcCaller(t.client, token);
    const { reservation } = await caller.reserve({
      reservation: { resourceId: "tls-grpc", start: hour(0), end: hour(1) },
    });
    assert.equal(reservation?.userId, "alice");
    const [event] = await caller.listen({ resourceId: "tls-grpc", cursor: await cursorAt(t.app) });
    assert.equal(event?.reservation?.id, reservation?.id, "streams too");

    const plain = createRsvpClient(t.app.grpcAddress);
    const untrusted = createRsvpClient(t.app.grpcAddress, grpc.credentials.createSsl());
    try {
      for (const [what, client] of [
        ["plaintext", plain],
        ["untrusted", untrusted],
      ] as const) {
        const failure = await failureOf(
          grpcCaller(client, token).get({ id: reservation?.id ?? "" }),
        );
        assert.equal(failure?.code, grpc.status.UNAVAILABLE, what);
      }
    } finally {
      plain.close();
      untrusted.close();
    }
  });

  it("Connect over HTTPS (HTTP/1.1 and HTTP/2), gRPC on the HTTP port, health", async () => {
    const base = `https://${t.app.httpAddress}`;
    const transports = [
      connectTransport(t.app.httpAddress, { baseUrl: base, nodeOptions: { ca: tls.cert } }),
      connectTransport(t.app.httpAddress, {
        baseUrl: base,
        httpVersion: "2",
        nodeOptions: { ca: tls.cert },
      }),
      createGrpcTransport({ baseUrl: base, nodeOptions: { ca: tls.cert } }),
    ];
    for (const [i, transport] of transports.entries()) {
      const c = connectCaller(transport, token);
      const resourceId = `tls-http-${i}`;
      const { reservation } = await c.reserve({
        reservation: { resourceId, start: hour(0), end: hour(1) },
      });
      assert.equal(reservation?.userId, "alice", `transport ${i}`);
      const rows = await c.query({ resourceId });
      assert.deepEqual(
        rows.map((r) => r.id),
        [reservation?.id],
      );
    }
    assert.equal(await httpsGet(t.app.httpAddress, "/healthz", tls.cert), 200);
    const plain = await failureOf(
      connectCaller(connectTransport(t.app.httpAddress), token).get({
        id: "00000000-0000-4000-8000-000000000000",
      }),
    );
    assert.notEqual(plain?.code, grpc.status.NOT_FOUND, "plaintext HTTP gets no answer");
  });

  it("the CLI connects with --ca-file", async () => {
    const server = `localhost:${t.app.grpcAddress.split(":").at(-1)}`;
    const r = await runCli(
      [
        "reserve",
        "--resource=tls-cli",
        "--start=2030-01-01T00:00Z",
        "--end=2030-01-01T01:00Z",
        "--json",
      ],
      { RSVP_SERVER: server, RSVP_CA_FILE: files.cert, RSVP_TOKEN: token },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).userId, "alice");
    const plain = await runCli(["query", "--resource=tls-cli"], {
      RSVP_SERVER: server,
      RSVP_TOKEN: token,
    });
    assert.equal(plain.code, 3, "plaintext to a TLS port: no answer");
  });

  it("a key that does not match its certificate, or half a pair, is a one-line error", async () => {
    const other = selfSigned(dir, "other");
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ RSVP_TLS_CERT_FILE: files.cert, RSVP_TLS_KEY_FILE: other.key }, /is not the key of/],
      [{ RSVP_TLS_CERT_FILE: files.cert }, /both .* or neither/],
      [{ RSVP_TLS_CERT_FILE: files.key, RSVP_TLS_KEY_FILE: files.key }, /no PEM certificate/],
      [{ RSVP_TLS_CERT_FILE: files.cert, RSVP_TLS_KEY_FILE: files.cert }, /no PEM private key/],
      [{ RSVP_TLS_CERT_FILE: join(dir, "nope"), RSVP_TLS_KEY_FILE: files.key }, /ENOENT/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadTlsConfig(env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        JSON.stringify(env),
      );
    }
    assert.equal(loadTlsConfig({}), undefined, "no files: plaintext");
  });
});
