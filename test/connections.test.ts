import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { status as grpcStatus } from "@grpc/grpc-js";
import { createRsvpClient } from "../src/client/grpc-client.js";
import { ReservationService } from "../src/gen/reservation/reservation_pb.js";
import type { App } from "../src/server/app.js";
import { ConfigError } from "../src/server/config.js";
import { DEFAULT_LIMITS, loadLimits } from "../src/server/limits.js";
import {
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  loadConnectionLimits,
} from "../src/server/transport/connection-limits.js";
import { loadTlsConfig } from "../src/server/transport/tls-config.js";
import { cursorAt } from "./helpers/cursors.js";
import { memoryTarget } from "./helpers/embedded-template.js";
import { hour } from "./helpers/fixtures.js";
import { captureLog, eventually, startServer } from "./helpers/harness.js";
import { selfSigned } from "./helpers/tls-files.js";
import { TEST_AUTH } from "./helpers/tokens.js";

const LIMIT = { timeout: 30_000 };

/** A raw TCP connection to `address` (host:port), once connected. */
async function connect(address: string): Promise<net.Socket & { received: Buffer[] }> {
  const i = address.lastIndexOf(":");
  const socket = net.connect(Number(address.slice(i + 1)), address.slice(0, i));
  const received: Buffer[] = [];
  socket.on("data", (b: Buffer) => received.push(b));
  socket.on("error", () => {});
  await once(socket, "connect");
  return Object.assign(socket, { received });
}

/**
 * Resolves when the server closed `socket` (its close event: no sleeping). A reset counts as
 * closed: a client still writing when the server cuts it gets ECONNRESET before "close", and
 * `once(socket, "close")` would reject on that error.
 */
async function closedByServer(socket: net.Socket): Promise<void> {
  if (socket.closed) return;
  await closeOf(socket);
}

/** Resolves on `emitter`'s "close", whatever error came before it (unlike `events.once`). */
function closeOf(emitter: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => emitter.once("close", () => resolve()));
}

/** An HTTP/1.1 GET of /healthz on `socket`, kept alive; resolves with the response head. */
async function getHealth(socket: net.Socket & { received: Buffer[] }): Promise<string> {
  socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  for (;;) {
    const text = Buffer.concat(socket.received).toString("latin1");
    if (text.includes("\r\n\r\n")) return text;
    await once(socket, "data");
  }
}

/** An HTTP/2 session (prior knowledge) once the server's SETTINGS arrived: it was accepted. */
async function h2Session(address: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://${address}`);
  session.on("error", () => {});
  await once(session, "remoteSettings");
  return session;
}

async function serve(connections: Partial<ConnectionLimits>, log = captureLog("warn")) {
  return startServer(await memoryTarget(), { config: { connections }, log: log.log });
}

describe("connections are bounded: stalled clients lose their socket", () => {
  let app: App;
  before(async () => {
    app = await serve({
      firstByteTimeoutMs: 300,
      headersTimeoutMs: 300,
      idleTimeoutMs: 300,
      requestTimeoutMs: 300,
    });
  });
  after(() => app.close());

  it("a connection that sends nothing is closed, on both ports", LIMIT, async () => {
    const http = await connect(app.httpAddress);
    const grpc = await connect(app.grpcAddress);
    await closedByServer(http);
    await closedByServer(grpc);
    assert.equal(Buffer.concat(http.received).length, 0);
  });

  it("an HTTP/1.1 request head trickled line by line is cut", LIMIT, async () => {
    const socket = await connect(app.httpAddress);
    socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    // Bytes keep coming, so no inactivity timeout would ever fire: only a deadline does.
    const trickle = setInterval(() => socket.write("X-Slow: 1\r\n"), 50);
    await closedByServer(socket);
    clearInterval(trickle);
    assert.equal(Buffer.concat(socket.received).length, 0, "never answered");
  });

  it("an HTTP/2 connection that never opens a stream is cut", LIMIT, async () => {
    const socket = await connect(app.httpAddress);
    socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // an empty SETTINGS frame
    await closedByServer(socket);
  });

  it("a native gRPC connection trickling its preface is cut", LIMIT, async () => {
    const socket = await connect(app.grpcAddress);
    const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let i = 0;
    // Bytes keep coming, so only a deadline on the first call can end it.
    const trickle = setInterval(() => socket.write(preface.charAt(i++ % preface.length)), 50);
    await closedByServer(socket);
    clearInterval(trickle);
  });

  it(
    "a native gRPC call whose request never arrives ends DEADLINE_EXCEEDED, and its idle connection closes",
    LIMIT,
    async () => {
      const session = await h2Session(app.grpcAddress);
      const closed = closeOf(session);
      const req = session.request(
        {
          ":method": "POST",
          ":path": "/reservation.ReservationService/get",
          "content-type": "application/grpc",
          te: "trailers",
        },
        { endStream: false },
      );
      req.on("error", () => {});
      const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
      assert.equal(headers["grpc-status"], String(grpcStatus.DEADLINE_EXCEEDED));
      assert.match(decodeURIComponent(String(headers["grpc-message"])), /RSVP_REQUEST_TIMEOUT_MS/);
      // The client never ended its request: the server ends it, or the stream would live on.
      await closeOf(req);
      await closed;
    },
  );

  it("a request body trickled byte by byte is cut", LIMIT, async () => {
    const socket = await connect(app.httpAddress);
    socket.write(
      "POST /reservation.ReservationService/Get HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    );
    const trickle = setInterval(() => socket.write(" "), 50);
    await closedByServer(socket);
    clearInterval(trickle);
  });

  it(
    "an HTTP/2 request body trickled byte by byte is reset, and the idle session closed",
    LIMIT,
    async () => {
      const session = await h2Session(app.httpAddress);
      const closed = closeOf(session);
      const req = session.request({
        ":method": "POST",
        ":path": "/reservation.ReservationService/get",
        "content-type": "application/json",
      });
      req.on("error", () => {});
      req.write("{");
      const trickle = setInterval(() => req.write(" "), 50);
      await closeOf(req);
      clearInterval(trickle);
      assert.equal(req.rstCode, http2.constants.NGHTTP2_CANCEL);
      // No stream open any more: the session is idle, and the server ends it.
      await closed;
    },
  );

  it("a kept-alive HTTP/1.1 connection is closed once idle", LIMIT, async () => {
    const socket = await connect(app.httpAddress);
    assert.match(await getHealth(socket), /^HTTP\/1\.1 200/);
    await closedByServer(socket);
  });

  it("a listen stream open longer than the idle timeout is not idle", LIMIT, async () => {
    const transport = createConnectTransport({
      baseUrl: `http://${app.httpAddress}`,
      httpVersion: "2",
    });
    const client = createClient(ReservationService, transport);
    const stop = new AbortController();
    const events = client
      // From the start of the log: the event is heard even if it commits before the stream opens.
      .listen({ resourceId: "idle-listen", cursor: await cursorAt(app) }, { signal: stop.signal })
      [Symbol.asyncIterator]();
    const first = events.next();
    // The clock: a connection opened now has been idle past the timeout when it is closed.
    const witness = await connect(app.httpAddress);
    await closedByServer(witness);
    const grpcClient = createRsvpClient(app.grpcAddress);
    try {
      await grpcClient.reserve({
        reservation: { userId: "u", resourceId: "idle-listen", start: hour(0), end: hour(1) },
      });
      const event = await first;
      assert.equal(event.done, false);
      assert.equal(event.value?.reservation?.resourceId, "idle-listen");
    } finally {
      stop.abort();
      grpcClient.close();
    }
  });
});

describe("connections are capped per port", () => {
  let app: App;
  const log = captureLog("warn");
  before(async () => {
    app = await serve({ maxConnections: 2 }, log);
  });
  after(() => app.close());

  it("refuses the connection beyond the cap on each port, then serves again", LIMIT, async () => {
    for (const address of [app.httpAddress, app.grpcAddress]) {
      const held = [await h2Session(address), await h2Session(address)];
      const refused = await connect(address);
      await closedByServer(refused);
      assert.equal(Buffer.concat(refused.received).length, 0, `${address}: refused unheard`);
      for (const s of held) s.destroy();
    }
    const warnings = log.lines.filter((l) => l.msg.startsWith("connection limit reached"));
    assert.deepEqual(warnings.map((l) => l.port).sort(), ["grpc", "http"]);

    // The held connections are gone: both ports serve new ones.
    const grpcClient = createRsvpClient(app.grpcAddress);
    const connect2 = createClient(
      ReservationService,
      createConnectTransport({ baseUrl: `http://${app.httpAddress}`, httpVersion: "1.1" }),
    );
    try {
      const reservation = { userId: "u", resourceId: "cap", start: hour(0), end: hour(1) };
      const viaGrpc = await eventually(
        () => grpcClient.reserve({ reservation }),
        "the gRPC port to serve again",
      );
      const got = await eventually(
        () => connect2.get({ id: viaGrpc.reservation?.id ?? "" }),
        "the HTTP port to serve again",
      );
      assert.equal(got.reservation?.resourceId, "cap");
    } finally {
      grpcClient.close();
    }
  });
});

/** A request over HTTP/2 naming `authority`: the response status. */
async function statusFor(address: string, authority: string, path = "/healthz"): Promise<number> {
  const session = http2.connect(`http://${address}`);
  session.on("error", () => {});
  try {
    const req = session.request({ ":path": path, ":authority": authority });
    const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    req.resume();
    return Number(headers[":status"]);
  } finally {
    session.close();
  }
}

/** The same over HTTP/1.1 with a Host header. */
async function statusForHost(address: string, host: string): Promise<number> {
  const socket = await connect(address);
  try {
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    await closedByServer(socket);
    const head = Buffer.concat(socket.received).toString("latin1");
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  } finally {
    socket.destroy();
  }
}

/** The status of an HTTP/1.1 request with `line` (method and target) and these Host headers. */
async function headStatus(address: string, line: string, hosts: string[]): Promise<number> {
  const socket = await connect(address);
  try {
    const host = hosts.map((h) => `Host: ${h}\r\n`).join("");
    socket.write(`${line} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
    await closedByServer(socket);
    const head = Buffer.concat(socket.received).toString("latin1");
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  } finally {
    socket.destroy();
  }
}

describe("HTTP/1.1 keep-alive lasts the idle timeout", () => {
  let app: App;
  before(async () => {
    // Longer than Node's own 5 s keep-alive timeout, which must not close it first.
    app = await serve({ idleTimeoutMs: 7000, firstByteTimeoutMs: 5500 });
  });
  after(() => app.close());

  it(
    "keeps an idle connection past 5 s, announces the timeout, and then closes it",
    LIMIT,
    async () => {
      const socket = await connect(app.httpAddress);
      const head = await getHealth(socket);
      assert.match(head, /^HTTP\/1\.1 200/);
      assert.match(head, /\r\nKeep-Alive: timeout=7\r\n/i);
      // The clock: the server closes a silent connection opened now after 5.5 s.
      const witness = await connect(app.httpAddress);
      await closedByServer(witness);
      assert.equal(socket.closed, false, "still open after 5.5 s idle");
      await closedByServer(socket);
    },
  );
});

describe("the per-address limits and the timeouts are configurable", () => {
  it("reads them from the environment, with their defaults, and refuses nonsense", () => {
    assert.equal(DEFAULT_CONNECTION_LIMITS.maxConnectionsPerPeer, 256);
    assert.ok(
      DEFAULT_CONNECTION_LIMITS.maxConnectionsPerPeer * 4 <=
        DEFAULT_CONNECTION_LIMITS.maxConnections,
    );
    for (const [key, ms] of Object.entries(DEFAULT_CONNECTION_LIMITS)) {
      if (key.endsWith("TimeoutMs")) assert.ok(ms <= 30_000, `${key}: at most 30 s by default`);
    }
    assert.deepEqual(loadConnectionLimits({}), DEFAULT_CONNECTION_LIMITS);
    const set = loadConnectionLimits({
      RSVP_MAX_CONNECTIONS_PER_PEER: "8",
      RSVP_IDLE_TIMEOUT_MS: "60000",
    });
    assert.equal(set.maxConnectionsPerPeer, 8);
    assert.equal(set.idleTimeoutMs, 60_000);
    const limits = loadLimits({
      RSVP_MAX_STREAMS_PER_PEER: "100",
      RSVP_MAX_LISTENS_PER_PEER: "10",
    });
    assert.equal(limits.maxStreamsPerPeer, 100);
    assert.equal(limits.maxListensPerPeer, 10);
    assert.equal(loadLimits({}).maxStreamsPerPeer, DEFAULT_LIMITS.maxStreamsPerPeer);
    for (const bad of ["0", "-1", "1.5", "many"]) {
      assert.throws(
        () => loadConnectionLimits({ RSVP_MAX_CONNECTIONS_PER_PEER: bad }),
        ConfigError,
      );
      assert.throws(() => loadLimits({ RSVP_MAX_STREAMS_PER_PEER: bad }), ConfigError);
      assert.throws(() => loadLimits({ RSVP_MAX_LISTENS_PER_PEER: bad }), ConfigError);
    }
  });
});

describe("a cap the file limit cannot honour", () => {
  const log = captureLog("warn");
  let app: App;
  // Started in the hook: on a busy machine the embedded database alone can take half a minute.
  before(async () => {
    // Far beyond any open files limit: the cap would never refuse before accept() fails.
    app = await serve({ maxConnections: 1e9 }, log);
  });
  after(() => app.close());

  it("is warned about at start-up", () => {
    assert.ok(log.lines.some((l) => l.msg.startsWith("RSVP_MAX_CONNECTIONS is too high")));
  });
});

describe("without authentication the HTTP port answers loopback and listed host names only", () => {
  let app: App;
  before(async () => {
    app = await startServer(await memoryTarget(), { config: { allowedHosts: ["rsvp.internal"] } });
  });
  after(() => app.close());

  it("refuses a rebound host name on HTTP/1.1 and HTTP/2, answers loopback ones", async () => {
    const port = app.httpAddress.split(":")[1];
    for (const host of ["attacker.example", `attacker.example:${port}`, "127.0.0.1.nip.io", ""]) {
      assert.equal(await statusForHost(app.httpAddress, host), 403, `Host: ${host}`);
      if (host !== "") assert.equal(await statusFor(app.httpAddress, host), 403, host);
    }
    const allowed = ["localhost", `127.0.0.1:${port}`, "127.8.9.10", `[::1]:${port}`];
    for (const host of [...allowed, "RSVP.internal", `rsvp.internal:${port}`]) {
      assert.equal(await statusForHost(app.httpAddress, host), 200, `Host: ${host}`);
      assert.equal(await statusFor(app.httpAddress, host), 200, host);
    }
  });

  it("answers a request naming its host more than once 400, and checks an absolute-form target's host", async () => {
    const port = app.httpAddress.split(":")[1];
    assert.equal(
      await headStatus(app.httpAddress, "GET /healthz", ["127.0.0.1", "127.0.0.1"]),
      400,
    );
    assert.equal(
      await headStatus(app.httpAddress, "GET /healthz", ["127.0.0.1", "attacker.example"]),
      400,
    );
    const absolute = (host: string) => `GET http://${host}/healthz`;
    assert.equal(await headStatus(app.httpAddress, absolute("evil.example"), ["127.0.0.1"]), 403);
    assert.equal(
      await headStatus(app.httpAddress, absolute(`127.0.0.1:${port}`), ["evil.example"]),
      403,
      "the Host header is checked too",
    );
    assert.equal(
      await headStatus(app.httpAddress, absolute(`127.0.0.1:${port}`), ["localhost"]),
      200,
    );
    assert.equal(
      await headStatus(app.httpAddress, absolute("rsvp.internal"), ["rsvp.internal"]),
      200,
    );
  });

  it("a Connect or gRPC call with a rebound host is PERMISSION_DENIED, never served", async () => {
    const rpc = "/reservation.ReservationService/Get";
    assert.equal(await statusFor(app.httpAddress, "attacker.example", rpc), 403);
    // A client's view of that 403, through the real Connect client.
    const client = createClient(
      ReservationService,
      createConnectTransport({
        baseUrl: `http://${app.httpAddress}`,
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            req.header.set("host", "attacker.example");
            return next(req);
          },
        ],
      }),
    );
    await assert.rejects(client.get({ id: "00000000-0000-4000-8000-000000000000" }), (err) => {
      assert.equal(ConnectError.from(err).code, Code.PermissionDenied);
      return true;
    });
  });
});

describe("with authentication on, the host check is not needed", () => {
  let app: App;
  before(async () => {
    app = await startServer(await memoryTarget(), { config: { auth: TEST_AUTH } });
  });
  after(() => app.close());

  it("answers any host name: a page without a token gets nothing from it", async () => {
    assert.equal(await statusForHost(app.httpAddress, "rsvp.example.com"), 200);
  });

  it("still answers a request naming its host twice 400: it is malformed", async () => {
    const hosts = ["rsvp.example.com", "other.example.com"];
    assert.equal(await headStatus(app.httpAddress, "GET /healthz", hosts), 400);
  });
});

describe("a TLS handshake that stalls is cut", () => {
  let app: App;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rsvp-conn-tls-"));
    const files = selfSigned(dir, "server");
    const tls = loadTlsConfig({ RSVP_TLS_CERT_FILE: files.cert, RSVP_TLS_KEY_FILE: files.key });
    app = await startServer(
      await memoryTarget(),
      // The first-byte deadline is far off: only the handshake's can close the socket in time.
      { config: { tls, connections: { handshakeTimeoutMs: 300, firstByteTimeoutMs: 600_000 } } },
    );
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("closes a connection whose ClientHello never completes", LIMIT, async () => {
    const socket = await connect(app.httpAddress);
    // A handshake record header promising 512 bytes, and two of them.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
    await closedByServer(socket);
    assert.equal(Buffer.concat(socket.received).length, 0);
  });
});
