import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import {
  ReservationConflictSchema,
  ReservationService,
  ReservationUpdateType,
} from "../src/gen/reservation/reservation_pb.js";
import type { App } from "../src/server/app.js";
import { ConfigError, loadConfig } from "../src/server/config.js";
import { backends } from "./helpers/databases.js";
import { memoryTarget } from "./helpers/embedded-template.js";
import { hour, rejectsWith } from "./helpers/fixtures.js";
import { eventually, httpBase, startServer } from "./helpers/harness.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const RPC = "/reservation.ReservationService";
const window = (from: number, to: number) => ({
  start: new Date(Date.UTC(2030, 0, 1, from)).toISOString(),
  end: new Date(Date.UTC(2030, 0, 1, to)).toISOString(),
});

/** What curl sends: a JSON POST over HTTP/1.1, no Connect-specific header. */
function postJson(base: string, rpc: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${RPC}/${rpc}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The same over HTTP/2 cleartext (prior knowledge), as `curl --http2-prior-knowledge` does. */
function postJsonH2(base: string, rpc: string, body: unknown) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const session = http2.connect(base);
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": `${RPC}/${rpc}`,
      "content-type": "application/json",
    });
    let statusCode = 0;
    let text = "";
    req.on("response", (headers) => {
      statusCode = Number(headers[":status"]);
    });
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => {
      session.close();
      resolve({ status: statusCode, body: JSON.parse(text) as Record<string, unknown> });
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function rejectsWithConnect(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConnectError, `expected a ConnectError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.message}`);
    return err;
  }
  assert.fail(`expected the call to fail with ${Code[code]}`);
}

for (const backend of backends) {
  describe(`web protocols (${backend.name})`, () => {
    let t: TestServer;
    let base: string;
    let transports: Array<[string, Transport]>;
    before(async () => {
      t = await startTestServer(backend);
      base = httpBase(t.app);
      transports = [
        [
          "Connect JSON over HTTP/1.1",
          createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
        ],
        [
          "Connect binary over HTTP/2",
          createConnectTransport({ baseUrl: base, httpVersion: "2", useBinaryFormat: true }),
        ],
        ["gRPC-Web over HTTP/1.1", createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" })],
        ["gRPC-Web over HTTP/2", createGrpcWebTransport({ baseUrl: base, httpVersion: "2" })],
      ];
    });
    after(() => t.close());

    it("a plain JSON POST over HTTP/1.1 reserves and gets, with a request id back", async () => {
      const res = await postJson(base, "reserve", {
        reservation: { userId: "alice", resourceId: "room-curl", ...window(9, 10) },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
      const { reservation } = (await res.json()) as { reservation: Record<string, string> };
      assert.equal(reservation.status, "RESERVATION_STATUS_PENDING");
      assert.equal(reservation.start, "2030-01-01T09:00:00Z");

      const got = await postJson(base, "get", { id: reservation.id }, { "x-request-id": "req-42" });
      assert.equal(got.status, 200);
      assert.equal(got.headers.get("x-request-id"), "req-42", "the caller's id is echoed");
      assert.deepEqual(await got.json(), { reservation });
    });

    it("the same JSON POST over HTTP/2 cleartext", async () => {
      const { reservation } = await t.client.reserve({
        reservation: { userId: "bob", resourceId: "room-h2c", start: hour(1), end: hour(2) },
      });
      const res = await postJsonH2(base, "get", { id: reservation?.id });
      assert.equal(res.status, 200);
      const got = res.body.reservation as Record<string, string>;
      assert.equal(got.id, reservation?.id);
      assert.equal(got.resourceId, "room-h2c");
    });

    it("every protocol serves unary calls and the query stream", async () => {
      for (const [name, transport] of transports) {
        const client = createClient(ReservationService, transport);
        const resourceId = `room-${name.replace(/\W+/g, "-")}`;
        const { reservation } = await client.reserve({
          reservation: { userId: "carol", resourceId, start: hour(3), end: hour(4) },
        });
        assert.ok(reservation, name);
        const confirmed = await client.confirm({ id: reservation.id });
        assert.equal(confirmed.reservation?.id, reservation.id, name);
        await client.reserve({
          reservation: { userId: "carol", resourceId, start: hour(5), end: hour(6) },
        });
        const found = [];
        for await (const r of client.query({ resourceId })) found.push(r.start?.seconds);
        assert.deepEqual(found, [hour(3).seconds, hour(5).seconds], name);
      }
    });

    it("every protocol streams listen events live, and closing a stream frees its listener", async () => {
      for (const [name, transport] of transports) {
        const client = createClient(ReservationService, transport);
        const resourceId = `live-${name.replace(/\W+/g, "-")}`;
        const abort = new AbortController();
        const events = client.listen({ resourceId }, { signal: abort.signal });
        const first = events[Symbol.asyncIterator]().next();
        await eventually(() => t.app.feed.listeners === 1, `${name} listening`);
        const { reservation } = await t.client.reserve({
          reservation: { userId: "dave", resourceId, start: hour(7), end: hour(8) },
        });
        const event = await first;
        assert.equal(event.done, false, name);
        assert.equal(event.value?.op, ReservationUpdateType.CREATE, name);
        assert.equal(event.value?.reservation?.id, reservation?.id, name);
        abort.abort();
        await eventually(() => t.app.feed.listeners === 0, `${name} listener gone`);
      }
    });

    it("errors carry the native gRPC codes, and the conflict detail is readable", async () => {
      const taken = { userId: "erin", resourceId: "room-taken", start: hour(10), end: hour(12) };
      await t.client.reserve({ reservation: taken });
      const clash = { ...taken, start: hour(11), end: hour(13) };
      const native = await rejectsWith(
        t.client.reserve({ reservation: clash }),
        status.ALREADY_EXISTS,
      );
      for (const [name, transport] of transports) {
        const client = createClient(ReservationService, transport);
        const err = await rejectsWithConnect(
          client.reserve({ reservation: clash }),
          Code.AlreadyExists,
        );
        assert.equal(err.rawMessage, native.message, name);
        const [detail] = err.findDetails(ReservationConflictSchema);
        assert.equal(detail?.resourceId, "room-taken", name);
        assert.deepEqual(detail?.existingStart, hour(10), name);
        assert.deepEqual(detail?.existingEnd, hour(12), name);
        await rejectsWithConnect(client.get({ id: "not-a-uuid" }), Code.InvalidArgument);
        await rejectsWithConnect(
          client.get({ id: "00000000-0000-4000-8000-000000000000" }),
          Code.NotFound,
        );
      }
      const res = await postJson(base, "reserve", {
        reservation: { userId: "erin", resourceId: "room-taken", ...window(11, 13) },
      });
      assert.equal(res.status, 409);
      const body = (await res.json()) as { code: string; details: Array<{ type: string }> };
      assert.equal(body.code, "already_exists");
      assert.equal(body.details[0]?.type, "reservation.ReservationConflict");
    });
  });
}

describe("CORS on the HTTP port", () => {
  let open: App;
  let closed: App;
  const preflight = (app: App, origin: string) =>
    fetch(`${httpBase(app)}${RPC}/get`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version,x-request-id",
      },
    });
  before(async () => {
    open = await startServer(await memoryTarget(), {
      config: { corsOrigins: ["https://app.example.com"] },
    });
    closed = await startServer(await memoryTarget());
  });
  after(async () => {
    await open.close();
    await closed.close();
  });

  it("answers an allowed origin's preflight with Connect's methods and headers", async () => {
    const res = await preflight(open, "https://app.example.com");
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
    const allowed = (res.headers.get("access-control-allow-headers") ?? "")
      .toLowerCase()
      .split(/,\s*/);
    for (const h of [
      "content-type",
      "connect-protocol-version",
      "connect-timeout-ms",
      "x-grpc-web",
      "authorization",
      "x-request-id",
    ]) {
      assert.ok(allowed.includes(h), `${h} allowed`);
    }
  });

  it("lets an allowed origin read the status and request id headers", async () => {
    const res = await postJson(
      httpBase(open),
      "get",
      { id: "00000000-0000-4000-8000-000000000000" },
      { origin: "https://app.example.com" },
    );
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
    const exposed = (res.headers.get("access-control-expose-headers") ?? "")
      .toLowerCase()
      .split(/,\s*/);
    for (const h of ["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"]) {
      assert.ok(exposed.includes(h), `${h} exposed`);
    }
  });

  it("reads RSVP_CORS_ORIGINS, refusing entries a browser could never send", () => {
    const env = { RSVP_CORS_ORIGINS: " https://app.example.com, http://localhost:5173 " };
    assert.deepEqual(loadConfig(env).corsOrigins, [
      "https://app.example.com",
      "http://localhost:5173",
    ]);
    assert.deepEqual(loadConfig({}).corsOrigins, []);
    for (const bad of ["app.example.com", "https://app.example.com/", "https://*.example.com"]) {
      assert.throws(() => loadConfig({ RSVP_CORS_ORIGINS: bad }), ConfigError, bad);
    }
  });

  it("refuses other origins, and every origin when none is configured", async () => {
    const other = await preflight(open, "https://evil.example.com");
    assert.equal(other.status, 403);
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const none = await preflight(closed, "https://app.example.com");
    assert.equal(none.status, 403);
    const res = await postJson(
      httpBase(closed),
      "get",
      { id: "00000000-0000-4000-8000-000000000000" },
      { origin: "https://app.example.com" },
    );
    assert.equal(res.status, 404, "the call runs; the browser is not allowed to read it");
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });
});
