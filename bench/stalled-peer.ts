/**
 * `npm run build && node dist/bench/stalled-peer.js [--sessions N] [--hold SECONDS]`
 *
 * One peer bound to 127.0.0.2 opens N HTTP/2 sessions (default 4,100) on each port of a
 * fresh `rsvp serve` (embedded database, in memory, default limits), each holding one call
 * whose request never comes; meanwhile another peer (127.0.0.1) calls `get` over native gRPC
 * and over Connect, and GETs /healthz, one call after another: first for 20 s with nobody
 * stalling (the same machine's baseline), then while the sessions stall. Once without and
 * once with authentication. Prints the other peer's latencies and failures, and what became
 * of the stalled sessions: how many the server took (the peer's share) and how long they lived.
 */
import { once } from "node:events";
import http2 from "node:http2";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { mintToken } from "../src/auth/mint-token.js";
import { createRsvpClient } from "../src/client/grpc-client.js";
import { ReservationService } from "../src/gen/reservation/reservation_pb.js";
import { here, Processes, waitForLine } from "./processes.js";

const STALLER = "127.0.0.2";
const SECRET = "stalled-peer-bench-secret-0123456789abcdef";
const BASELINE_MS = 20_000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? undefined : Number(process.argv[i + 1]);
  return value !== undefined && Number.isFinite(value) ? value : fallback;
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

/** One stalled session: when the server took it (its SETTINGS came), and when it ended. */
interface Session {
  accepted?: number;
  closed?: number;
}

function stall(address: string, headers: http2.OutgoingHttpHeaders): Session {
  const i = address.lastIndexOf(":");
  const [host, port] = [address.slice(0, i), Number(address.slice(i + 1))];
  const s: Session = {};
  const session = http2.connect(`http://${address}`, {
    createConnection: () => net.connect({ host, port, localAddress: STALLER }),
  });
  session.on("error", () => {});
  session.once("close", () => {
    s.closed = Date.now();
  });
  session.once("remoteSettings", () => {
    s.accepted = Date.now();
    const req = session.request(
      { ":method": "POST", ":path": "/reservation.ReservationService/get", ...headers },
      { endStream: false },
    );
    req.on("error", () => {});
    req.resume();
  });
  return s;
}

/** Opens `n` stalled sessions, a batch at a time so the client's own connects keep up. */
async function besiege(address: string, headers: http2.OutgoingHttpHeaders, n: number) {
  const sessions: Session[] = [];
  while (sessions.length < n) {
    const batch = Math.min(200, n - sessions.length);
    for (let k = 0; k < batch; k++) sessions.push(stall(address, headers));
    await sleep(20);
  }
  return sessions;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

function summary(name: string, ms: number[], failures: number): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(1).padStart(7);
  return `${name.padEnd(12)} calls ${String(sorted.length).padStart(5)}  failures ${failures}  p50 ${f(percentile(sorted, 50))} ms  p99 ${f(percentile(sorted, 99))} ms  max ${f(sorted.at(-1) ?? Number.NaN)} ms`;
}

function fate(port: string, sessions: Session[]): string {
  const taken = sessions.filter((s) => s.accepted !== undefined);
  const lived = taken.map((s) => (s.closed ?? Number.NaN) - (s.accepted ?? 0));
  const stillOpen = taken.filter((s) => s.closed === undefined).length;
  const refused = sessions.filter((s) => s.accepted === undefined && s.closed !== undefined);
  const unanswered = sessions.length - taken.length - refused.length;
  const longest = Math.max(0, ...lived.filter(Number.isFinite)) / 1000;
  return `${port.padEnd(5)} ${sessions.length} stalled sessions: ${taken.length} taken (closed ${longest.toFixed(1)} s after their accept at most, ${stillOpen} still open), ${refused.length} refused at once, ${unanswered} never connected (the listen backlog)`;
}

/** Waits up to `ms` for every session the server took to close. */
async function settled(sessions: Session[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && sessions.some((s) => s.accepted && s.closed === undefined)) {
    await sleep(250);
  }
}

async function round(procs: Processes, auth: boolean, n: number, holdMs: number) {
  const [port, httpPort] = [await freePort(), await freePort()];
  const child = procs.spawn(process.execPath, [here("../src/cli/main.js"), "serve"], {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: String(port),
    HTTP_PORT: String(httpPort),
    DATABASE_URL: "memory://",
    LOG_LEVEL: "error",
    ...(auth ? { RSVP_JWT_SECRET: SECRET } : {}),
  });
  const [, grpcAddress = "", httpAddress = ""] = await waitForLine(
    child,
    /^rsvp serving gRPC on (\S+), HTTP on (\S+),/,
    180_000,
  );
  const token = auth
    ? await mintToken(new TextEncoder().encode(SECRET), {
        sub: "bench",
        role: "admin",
        ttlSeconds: 3600,
      })
    : undefined;
  const metadata = token ? { authorization: `Bearer ${token}` } : undefined;
  const grpcClient = createRsvpClient(grpcAddress);
  const connect = createClient(
    ReservationService,
    createConnectTransport({ baseUrl: `http://${httpAddress}`, httpVersion: "1.1" }),
  );
  const start = new Date(Date.UTC(2031, 0, 1));
  const made = await grpcClient.reserve(
    {
      reservation: {
        userId: "u",
        resourceId: "stalled-peer",
        start: { seconds: BigInt(start.getTime() / 1000) },
        end: { seconds: BigInt(start.getTime() / 1000 + 3600) },
      },
    },
    { metadata },
  );
  const id = made.reservation?.id ?? "";

  const calls = { grpc: [] as number[], connect: [] as number[], healthz: [] as number[] };
  const failed = { grpc: 0, connect: 0, healthz: 0 };
  const timed = async (kind: keyof typeof calls, call: () => Promise<unknown>) => {
    const t0 = performance.now();
    try {
      await call();
      calls[kind].push(performance.now() - t0);
    } catch {
      failed[kind]++;
    }
  };
  const callEach = async () => {
    await timed("grpc", () => grpcClient.get({ id }, { metadata, deadlineMs: 5000 }));
    await timed("connect", () => connect.get({ id }, { headers: metadata, timeoutMs: 5000 }));
    await timed("healthz", async () => {
      const res = await fetch(`http://${httpAddress}/healthz`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`healthz ${res.status}`);
    });
  };
  const report = (what: string) => {
    console.log(what);
    console.log(summary("grpc get", calls.grpc, failed.grpc));
    console.log(summary("connect get", calls.connect, failed.connect));
    console.log(summary("GET /healthz", calls.healthz, failed.healthz));
    for (const kind of Object.keys(calls) as Array<keyof typeof calls>) {
      calls[kind] = [];
      failed[kind] = 0;
    }
  };
  const callFor = async (ms: number) => {
    const from = Date.now();
    while (Date.now() - from < ms) {
      await callEach();
      await sleep(20);
    }
  };
  // The other peer's connections, the JIT: shown apart.
  for (let k = 0; k < 50; k++) await callEach();
  report(`\nauthentication ${auth ? "on" : "off"}; warm-up, 50 rounds:`);
  // The same calls on the same machine with no one stalling: what the siege adds shows.
  await callFor(BASELINE_MS);
  report(`nobody stalling, ${BASELINE_MS / 1000} s:`);
  const sieges = {
    grpc: await besiege(grpcAddress, { "content-type": "application/grpc", te: "trailers" }, n),
    http: await besiege(httpAddress, { "content-type": "application/json" }, n),
  };
  await callFor(holdMs);
  report(`${n} stalled sessions per port from ${STALLER}, then ${holdMs / 1000} s of calls:`);
  // Connects the listen backlog delayed were taken late: their deadlines run from then.
  await settled([...sieges.grpc, ...sieges.http], 30_000);
  console.log(fate("grpc", sieges.grpc));
  console.log(fate("http", sieges.http));
  grpcClient.close();
  await procs.stop(child);
}

const procs = new Processes();
try {
  const n = flag("--sessions", 4100);
  const holdMs = flag("--hold", 70) * 1000;
  for (const auth of [false, true]) await round(procs, auth, n, holdMs);
} finally {
  await procs.stopAll();
}
// The stalled sessions' sockets are the server's to close; whatever is left goes with us.
process.exit(0);
