import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import { createRsvpClient, type RsvpClient } from "../src/client/grpc-client.js";
import { type ListenResponse, ReservationService } from "../src/gen/reservation/reservation_pb.js";
import type { App } from "../src/server/app.js";
import { StartupError } from "../src/server/startup.js";
import { backends, postgresBackends, type TestDatabase } from "./helpers/databases.js";
import { collect, hour, rejectsWith } from "./helpers/fixtures.js";
import { freePort } from "./helpers/free-port.js";
import { captureLog, eventually, httpBase, startServer } from "./helpers/harness.js";
import { startTcpProxy } from "./helpers/tcp-proxy.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** `rsvp serve` as a child process, its output collected. */
function serve(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN, "serve"], {
    env: { ...process.env, HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => {
    out.stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    out.stderr += chunk.toString("utf8");
  });
  const exited = once(child, "exit") as Promise<[number | null, string | null]>;
  const logs = () =>
    out.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; level: number });
  return { child, out, exited, logs };
}

/** Holds an exclusive lock on the reservations table until released: calls that read it wait. */
async function lockReservations(app: App) {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked = () => {};
  const held = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const done = app.db.transaction(async (tx) => {
    await tx.query("LOCK TABLE rsvp.reservations IN ACCESS EXCLUSIVE MODE");
    locked();
    await gate;
  });
  await held;
  return { release, done };
}

const startedGets = async (app: App) => {
  const text = await (await fetch(`${httpBase(app)}/metrics`)).text();
  return /grpc_server_started_total\{[^}]*grpc_method="get"[^}]*\} 1/.test(text);
};

describe("the server process", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`on ${signal}: ends listen streams with OK, stops, and exits 0`, async () => {
      const [port, httpPort] = [await freePort(), await freePort()];
      const server = serve({
        PORT: String(port),
        HTTP_PORT: String(httpPort),
        DATABASE_URL: "memory://",
      });
      const base = `http://127.0.0.1:${httpPort}`;
      try {
        await eventually(
          async () => (await fetch(`${base}/readyz`)).status === 200,
          "the server to be ready",
          60_000,
        );
        const client = createRsvpClient(`127.0.0.1:${port}`);
        const web = createClient(
          ReservationService,
          createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
        );
        const streams = [
          client.listen({ resourceId: "room-signal" })[Symbol.asyncIterator](),
          web.listen({ resourceId: "room-signal" })[Symbol.asyncIterator](),
        ];
        const firsts = streams.map((s) => s.next());
        await eventually(
          async () =>
            /^rsvp_listeners_open 2$/m.test(await (await fetch(`${base}/metrics`)).text()),
          "both listeners",
        );
        const { reservation } = await client.reserve({
          reservation: { userId: "u", resourceId: "room-signal", start: hour(1), end: hour(2) },
        });
        for (const first of await Promise.all(firsts)) {
          assert.equal((first.value as ListenResponse).reservation?.id, reservation?.id);
        }
        server.child.kill(signal);
        const [code] = await server.exited;
        assert.equal(code, 0, server.out.stderr);
        // Both streams ended with OK: an error status would make next() throw.
        for (const stream of streams) assert.equal((await stream.next()).done, true);
        client.close();
        const messages = server.logs().map((l) => l.msg);
        assert.ok(messages.includes("draining calls"), messages.join(", "));
        assert.equal(messages.at(-1), "stopped");
      } finally {
        server.child.kill("SIGKILL");
      }
    });
  }

  it("retries an unreachable database with backoff, then gives up with one line", async () => {
    const closed = await freePort();
    const server = serve({
      PORT: String(await freePort()),
      HTTP_PORT: String(await freePort()),
      DATABASE_URL: `postgres://rsvp:s3cret@127.0.0.1:${closed}/rsvp`,
      RSVP_STARTUP_RETRY_SECONDS: "1",
    });
    const [code] = await server.exited;
    assert.notEqual(code, 0);
    const retries = server.logs().filter((l) => l.msg === "database unreachable; retrying");
    assert.ok(retries.length >= 2, server.out.stdout);
    assert.match(server.out.stderr, /^rsvp: database unreachable after \d+ attempts in 1s: .*\n$/);
    assert.doesNotMatch(server.out.stdout + server.out.stderr, /s3cret/);
  });
});

for (const backend of backends) {
  describe(`graceful shutdown (${backend.name})`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await backend.create();
    });
    after(() => database.drop());

    it("finishes an in-flight unary call, refuses new ones, closes the database last", async () => {
      const app = await startServer(database.target, { graceMs: 30_000 });
      const client = createRsvpClient(app.grpcAddress);
      const { reservation } = await client.reserve({
        reservation: { userId: "u", resourceId: "room-drain", start: hour(1), end: hour(2) },
      });
      assert.ok(reservation);
      const lock = await lockReservations(app);
      const inFlight = client.get({ id: reservation.id });
      await eventually(() => startedGets(app), "the get to be in flight");

      const closing = app.close();
      const late = createRsvpClient(app.grpcAddress);
      await rejectsWith(late.get({ id: reservation.id }), status.UNAVAILABLE);
      late.close();
      await assert.rejects(fetch(`${httpBase(app)}/healthz`), "the HTTP port is closed too");

      lock.release();
      await lock.done;
      const got = await inFlight;
      assert.equal(got.reservation?.id, reservation.id, "the call in flight completed");
      await closing;
      await assert.rejects(app.db.query("SELECT 1"), "the database is closed, last");
      client.close();
    });

    it("cuts calls still running when the grace period is over", async () => {
      const app = await startServer(database.target, { graceMs: 200 });
      const client = createRsvpClient(app.grpcAddress);
      const lock = await lockReservations(app);
      const inFlight = client.get({ id: "00000000-0000-4000-8000-000000000000" });
      inFlight.catch(() => {});
      await eventually(() => startedGets(app), "the get to be in flight");
      const closing = app.close();
      await rejectsWith(inFlight, status.UNAVAILABLE);
      lock.release();
      await lock.done.catch(() => {});
      await closing;
      client.close();
    });
  });

  describe(`deadlines and limits (${backend.name})`, () => {
    let database: TestDatabase;
    let app: App;
    let client: RsvpClient;
    before(async () => {
      database = await backend.create();
      app = await startServer(database.target);
      client = createRsvpClient(app.grpcAddress);
    });
    after(async () => {
      client.close();
      await app.close();
      await database.drop();
    });

    it("a listen stream stops at its deadline, on every transport, and frees its listener", async () => {
      const native = client.listen({ resourceId: "room-deadline" }, { deadlineMs: 300 });
      await rejectsWith(collect(native), status.DEADLINE_EXCEEDED);
      await eventually(() => app.feed.listeners === 0, "the native listener gone");
      const web = createClient(
        ReservationService,
        createGrpcWebTransport({ baseUrl: httpBase(app), httpVersion: "1.1" }),
      );
      await assert.rejects(
        collect(web.listen({ resourceId: "room-deadline" }, { timeoutMs: 300 })),
        (err: unknown) => err instanceof ConnectError && err.code === Code.DeadlineExceeded,
      );
      await eventually(() => app.feed.listeners === 0, "the web listener gone");
    });

    it("a call whose deadline has already passed does no work", async () => {
      const res = await fetch(`${httpBase(app)}/reservation.ReservationService/reserve`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-timeout-ms": "0" },
        body: JSON.stringify({
          reservation: {
            userId: "u",
            resourceId: "room-expired",
            start: "2030-01-01T01:00:00Z",
            end: "2030-01-01T02:00:00Z",
          },
        }),
      });
      assert.equal(((await res.json()) as { code: string }).code, "deadline_exceeded");
      assert.deepEqual(await collect(client.query({ resourceId: "room-expired" })), []);
    });

    it("rejects a message over 1 MiB with RESOURCE_EXHAUSTED on both ports", async () => {
      const huge = {
        userId: "u",
        resourceId: "room-huge",
        start: hour(1),
        end: hour(2),
        note: "x".repeat(2 * 1024 * 1024),
      };
      await rejectsWith(client.reserve({ reservation: huge }), status.RESOURCE_EXHAUSTED);
      const web = createClient(
        ReservationService,
        createConnectTransport({ baseUrl: httpBase(app), httpVersion: "2", useBinaryFormat: true }),
      );
      await assert.rejects(
        web.reserve({ reservation: huge }),
        (err: unknown) => err instanceof ConnectError && err.code === Code.ResourceExhausted,
      );
      assert.deepEqual(await collect(client.query({ resourceId: "room-huge" })), []);
    });
  });
}

describe("start-up with an unreachable database", () => {
  it("retries with backoff, saying so, up to the configured limit", async () => {
    const captured = captureLog("info");
    const closed = await freePort();
    await assert.rejects(
      startServer(
        { kind: "postgres", url: `postgres://rsvp@127.0.0.1:${closed}/rsvp` },
        // Room for the 250 and 500 ms waits even when each failed attempt is slow (a busy
        // machine once fitted only one retry into a 1 s limit).
        { log: captured.log, config: { startupRetrySeconds: 3 } },
      ),
      (err: unknown) => err instanceof StartupError && /after \d+ attempts in 3s/.test(err.message),
    );
    const retries = captured.lines.filter((l) => l.msg === "database unreachable; retrying");
    assert.ok(retries.length >= 2);
    assert.deepEqual(
      retries.map((l) => l.attempt),
      retries.map((_, i) => i + 1),
    );
    const delays = retries.map((l) => Number(l.retryInMs));
    assert.deepEqual(
      delays,
      [...delays].sort((x, y) => x - y),
      "the waits grow",
    );
  });

  for (const backend of postgresBackends) {
    it(`starts once the database comes up (${backend.name})`, async () => {
      const database = await backend.create();
      const url = new URL(database.target.kind === "postgres" ? database.target.url : "");
      const proxy = await startTcpProxy(url.hostname, Number(url.port));
      await proxy.cut();
      url.port = String(proxy.port);
      const captured = captureLog("info");
      const starting = startServer(
        { kind: "postgres", url: url.toString() },
        { log: captured.log, config: { startupRetrySeconds: 60 } },
      );
      starting.catch(() => {});
      await eventually(
        () => captured.lines.some((l) => l.msg === "database unreachable; retrying"),
        "a retry",
      );
      await proxy.restore();
      const app = await starting;
      try {
        const client = createRsvpClient(app.grpcAddress);
        const { reservation } = await client.reserve({
          reservation: { userId: "u", resourceId: "room-late", start: hour(1), end: hour(2) },
        });
        assert.ok(reservation);
        client.close();
        assert.ok(captured.lines.some((l) => l.msg === "database reachable: starting"));
      } finally {
        await app.close();
        await proxy.close();
        await database.drop();
      }
    });
  }
});
