import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import { createRsvpClient, type RsvpClient } from "../src/client/grpc-client.js";
import { ReservationService } from "../src/gen/reservation/reservation_pb.js";
import type { App } from "../src/server/app.js";
import { backends, type TestDatabase } from "./helpers/databases.js";
import { hour, rejectsWith } from "./helpers/fixtures.js";
import {
  type CapturedLog,
  captureLog,
  eventually,
  httpBase,
  startServer,
} from "./helpers/harness.js";

const MISSING = "00000000-0000-4000-8000-000000000000";
const SVC = "reservation.ReservationService";

/** The value of the sample `name` whose labels include `labels`, from Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string> = {}) {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const rpcLines = (captured: CapturedLog) => captured.lines.filter((l) => l.msg === "rpc");

for (const backend of backends) {
  describe(`metrics and logs (${backend.name})`, () => {
    let database: TestDatabase;
    let captured: CapturedLog;
    let app: App;
    let client: RsvpClient;
    before(async () => {
      database = await backend.create();
      captured = captureLog("debug");
      app = await startServer(database.target, { log: captured.log });
      client = createRsvpClient(app.grpcAddress);
    });
    after(async () => {
      client.close();
      await app.close();
      await database.drop();
    });

    it("GET /metrics counts rpcs by method, protocol and code, and the service's own gauges", async () => {
      const base = httpBase(app);
      const connect = createClient(
        ReservationService,
        createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
      );
      const grpcWeb = createClient(
        ReservationService,
        createGrpcWebTransport({ baseUrl: base, httpVersion: "2" }),
      );
      const mine = { userId: "u", resourceId: "room-metrics", start: hour(1), end: hour(2) };
      await client.reserve({ reservation: mine });
      await assert.rejects(connect.reserve({ reservation: mine }), ConnectError);
      await assert.rejects(grpcWeb.get({ id: MISSING }), ConnectError);
      const stream = client.listen({ resourceId: "room-metrics" });
      await stream.opened;
      await eventually(() => app.feed.listeners === 1, "the listener");
      // A change delivered to it: the feed's lag is measured on delivered changes.
      const committedAfter = Date.now();
      await client.reserve({ reservation: { ...mine, start: hour(3), end: hour(4) } });
      const first = await stream[Symbol.asyncIterator]().next();
      assert.equal(first.done, false);

      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      const text = await res.text();
      const scrapedWithin = (Date.now() - committedAfter) / 1000;
      const handled = (method: string, protocol: string, code: string) =>
        sample(text, "grpc_server_handled_total", {
          grpc_service: SVC,
          grpc_method: method,
          grpc_type: "unary",
          protocol,
          grpc_code: code,
        });
      assert.equal(handled("reserve", "grpc", "OK"), 2);
      assert.equal(handled("reserve", "connect", "ALREADY_EXISTS"), 1);
      assert.equal(handled("get", "grpc-web", "NOT_FOUND"), 1);
      assert.equal(
        sample(text, "grpc_server_handling_seconds_count", {
          grpc_method: "reserve",
          protocol: "grpc",
        }),
        2,
      );
      assert.equal(
        sample(text, "grpc_server_started_total", {
          grpc_method: "listen",
          grpc_type: "server_stream",
        }),
        1,
      );
      assert.equal(sample(text, "rsvp_reservations_created_total"), 2);
      assert.equal(sample(text, "rsvp_reservations_conflicted_total"), 1);
      assert.equal(sample(text, "rsvp_listeners_open"), 1);
      // Commit to delivery of that change: within the time from before the reserve to the scrape.
      const lag = sample(text, "rsvp_change_feed_lag_seconds");
      assert.ok(lag !== undefined && lag >= 0 && lag <= scrapedWithin, `lag ${lag}s`);
      const inFlight = sample(text, "rsvp_db_operations_in_flight");
      assert.ok(inFlight !== undefined && Number.isInteger(inFlight) && inFlight >= 0);
      assert.ok(sample(text, "process_cpu_user_seconds_total") !== undefined, "process metrics");
      stream.cancel();
    });

    it("every way of reserving is counted: groups and series as reserve is", async () => {
      const counts = async () => {
        const text = await (await fetch(`${httpBase(app)}/metrics`)).text();
        return {
          created: sample(text, "rsvp_reservations_created_total") ?? Number.NaN,
          conflicted: sample(text, "rsvp_reservations_conflicted_total") ?? Number.NaN,
        };
      };
      const before = await counts();
      const item = (resourceId: string, h: number) => ({
        reservation: { userId: "u", resourceId, start: hour(h), end: hour(h + 1) },
      });
      const group = [item("metrics-a", 50), item("metrics-b", 50), item("metrics-c", 50)];
      await client.reserveAll({ items: group });
      await rejectsWith(client.reserveAll({ items: group }), status.ALREADY_EXISTS);
      await client.reserveSeries({ first: item("metrics-d", 50), rrule: "FREQ=DAILY;COUNT=2" });
      assert.deepEqual(await counts(), {
        created: before.created + 5,
        conflicted: before.conflicted + 1,
      });
    });

    it("logs one JSON line per rpc with its request id, which the caller gets back", async () => {
      const native = createClient(
        ReservationService,
        createGrpcTransport({ baseUrl: `http://${app.grpcAddress}` }),
      );
      const connect = createClient(
        ReservationService,
        createConnectTransport({ baseUrl: httpBase(app), httpVersion: "1.1" }),
      );
      await assert.rejects(
        native.get({ id: MISSING }, { headers: { "x-request-id": "trace-1" } }),
        (err: unknown) => {
          assert.ok(err instanceof ConnectError);
          assert.equal(err.metadata.get("x-request-id"), "trace-1", "echoed on failure too");
          return true;
        },
      );
      let echoed: string | null = null;
      const { reservation } = await connect.reserve(
        { reservation: { userId: "u", resourceId: "room-logs", start: hour(3), end: hour(4) } },
        {
          headers: { "x-request-id": "trace-2" },
          onHeader: (h) => {
            echoed = h.get("x-request-id");
          },
        },
      );
      assert.equal(echoed, "trace-2");
      await rejectsWith(client.get({ id: MISSING }), status.NOT_FOUND);

      const notFound = rpcLines(captured).find((l) => l.requestId === "trace-1");
      assert.ok(notFound, "a line for the failed call");
      assert.equal(notFound.level, 40, "a caller's error is a warning");
      assert.equal(notFound.rpc, `${SVC}/get`);
      assert.equal(notFound.protocol, "grpc");
      assert.equal(notFound.code, "NOT_FOUND");
      assert.equal(typeof notFound.durationMs, "number");
      const ok = rpcLines(captured).find((l) => l.requestId === "trace-2");
      assert.equal(ok?.level, 20, "a success is debug");
      assert.equal(ok?.code, "OK");
      assert.equal(ok?.protocol, "connect");
      assert.ok(reservation);
      // No id sent: one is made up, still one line per call.
      const generated = rpcLines(captured).filter(
        (l) => l.rpc === `${SVC}/get` && l.protocol === "grpc" && l.requestId !== "trace-1",
      );
      assert.equal(generated.length, 1);
      assert.match(String(generated[0]?.requestId), /^[0-9a-f-]{36}$/);
    });

    it("rpc counts add up across scrapes: each scrape shows every call so far", async () => {
      const scrape = async () => {
        const text = await (await fetch(`${httpBase(app)}/metrics`)).text();
        const labels = { grpc_service: SVC, grpc_method: "get", protocol: "grpc" };
        return {
          started: sample(text, "grpc_server_started_total", labels) ?? 0,
          notFound: sample(text, "grpc_server_handled_total", {
            ...labels,
            grpc_code: "NOT_FOUND",
          }),
          timed: sample(text, "grpc_server_handling_seconds_count", labels),
        };
      };
      const first = await scrape();
      await rejectsWith(client.get({ id: MISSING }), status.NOT_FOUND);
      await rejectsWith(client.get({ id: MISSING }), status.NOT_FOUND);
      const second = await scrape();
      assert.equal(second.started, first.started + 2);
      assert.equal(second.notFound, (first.notFound ?? 0) + 2);
      assert.equal(second.timed, (first.timed ?? 0) + 2);
      // A scrape without calls in between shows the same counts: reading adds nothing twice.
      assert.deepEqual(await scrape(), second);
      await rejectsWith(client.get({ id: MISSING }), status.NOT_FOUND);
      const third = await scrape();
      assert.equal(third.started, second.started + 1);
      assert.equal(third.notFound, (second.notFound ?? 0) + 1);
    });
  });

  describe(`internal errors (${backend.name})`, () => {
    let database: TestDatabase;
    let captured: CapturedLog;
    let app: App;
    let client: RsvpClient;
    before(async () => {
      database = await backend.create();
      captured = captureLog("debug");
      app = await startServer(database.target, { log: captured.log });
      client = createRsvpClient(app.grpcAddress);
      // A real fault, not a mock: the table the query needs is gone (schema drift).
      await app.db.exec("ALTER TABLE rsvp.reservations RENAME TO reservations_moved");
    });
    after(async () => {
      await app.db.exec("ALTER TABLE rsvp.reservations_moved RENAME TO reservations");
      client.close();
      await app.close();
      await database.drop();
    });

    it("reach every caller as INTERNAL 'internal error': no SQL, no stack; the log has the cause", async () => {
      const leaks = /reservations_moved|relation|select|from |rsvp\.|\.ts:|\.js:|\n\s+at /i;
      const native = await rejectsWith(
        client.get({ id: MISSING }, { metadata: { "x-request-id": "boom-1" } }),
        status.INTERNAL,
      );
      assert.equal(native.message, "internal error");

      const res = await fetch(`${httpBase(app)}/reservation.ReservationService/get`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: MISSING }),
      });
      assert.equal(res.status, 500);
      const body = await res.text();
      assert.deepEqual(JSON.parse(body), { code: "internal", message: "internal error" });
      assert.doesNotMatch(body, leaks);

      const web = createClient(
        ReservationService,
        createGrpcWebTransport({ baseUrl: httpBase(app), httpVersion: "1.1" }),
      );
      try {
        await web.get({ id: MISSING });
        assert.fail("expected INTERNAL");
      } catch (err) {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, Code.Internal);
        assert.equal(err.rawMessage, "internal error");
        assert.deepEqual(err.details, []);
      }

      const cause = captured.lines.find(
        (l) => l.msg === "internal error" && l.requestId === "boom-1",
      );
      assert.ok(cause, "the cause is logged, with the request id");
      assert.equal(cause.level, 50);
      assert.match(JSON.stringify(cause.err), /reservations/);
      const line = rpcLines(captured).find((l) => l.requestId === "boom-1");
      assert.equal(line?.level, 50, "a server fault is an error");
      assert.equal(line?.code, "INTERNAL");
    });
  });
}
