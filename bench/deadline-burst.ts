// `npm run bench:deadlines [-- --embedded] [--burst N] [--deadline MS]`: whether the service
// answers by the callers' deadlines under overload, on each protocol. The client sends each
// protocol's timeout header and enforces nothing itself, so what it measures is the server's
// answer time. Limits come from the same run: the same burst refused at once (the time the
// server needs just to take a burst in), and the service's own maximum reserve rate.
import { type ClientHttp2Session, connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetRequestSchema, ReserveRequestSchema } from "../src/gen/reservation/reservation_pb.js";
import { startPgServer } from "./postgres-server.js";
import { here, Processes, waitForLine } from "./processes.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const EMBEDDED = args.includes("--embedded");
const BURST = flag("--burst", 2000);
const DEADLINE_MS = flag("--deadline", 200);
const PATH = "/reservation.ReservationService/";
type Protocol = "grpc-native" | "grpc-http" | "connect";

/** One call's answer: its status (gRPC numbering) and ms from the burst's start. */
interface Answer {
  readonly code: number;
  readonly ms: number;
}

const frame = (body: Uint8Array) => {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
};

const CONNECT_CODES: Record<string, number> = {
  canceled: 1,
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  already_exists: 6,
  resource_exhausted: 8,
  failed_precondition: 9,
  internal: 13,
  unavailable: 14,
};

/** Sends one call and resolves with its status, never rejecting (a reset is UNAVAILABLE). */
function call(session: ClientHttp2Session, protocol: Protocol, method: string, body: Uint8Array) {
  return new Promise<number>((resolve) => {
    const grpc = protocol !== "connect";
    // A session the server closed refuses new streams at once: that call is UNAVAILABLE.
    let req: ReturnType<ClientHttp2Session["request"]>;
    try {
      req = session.request({
        ":method": "POST",
        ":path": PATH + method,
        "content-type": grpc ? "application/grpc" : "application/proto",
        ...(grpc
          ? { te: "trailers", "grpc-timeout": `${DEADLINE_MS}m` }
          : { "connect-protocol-version": "1", "connect-timeout-ms": String(DEADLINE_MS) }),
      });
    } catch {
      return resolve(14);
    }
    let code: number | undefined;
    let httpStatus = 0;
    const chunks: Buffer[] = [];
    req.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      if (h["grpc-status"] !== undefined) code = Number(h["grpc-status"]);
    });
    req.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) code = Number(t["grpc-status"]);
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => resolve(14));
    req.on("close", () => {
      if (grpc) return resolve(code ?? 14);
      if (httpStatus === 200) return resolve(0);
      const text = Buffer.concat(chunks).toString();
      const name = /"code"\s*:\s*"([a-z_]+)"/.exec(text)?.[1] ?? "";
      resolve(CONNECT_CODES[name] ?? 2);
    });
    req.end(grpc ? frame(body) : body);
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

/** Fires `bodies` at once over a few sessions (below any per-connection stream cap). */
async function burst(address: string, protocol: Protocol, method: string, bodies: Uint8Array[]) {
  const sessions = Array.from({ length: Math.ceil(bodies.length / 500) }, () =>
    connect(`http://${address}`),
  );
  for (const s of sessions) s.on("error", () => {});
  await Promise.all(sessions.map((s) => new Promise((r) => s.once("connect", r))));
  const t0 = performance.now();
  const answers = await Promise.all(
    bodies.map(async (b, i): Promise<Answer> => {
      const code = await call(
        sessions[i % sessions.length] as ClientHttp2Session,
        protocol,
        method,
        b,
      );
      return { code, ms: performance.now() - t0 };
    }),
  );
  for (const s of sessions) s.close();
  return answers;
}

function summary(answers: readonly Answer[]) {
  const sorted = answers.map((a) => a.ms).sort((a, b) => a - b);
  const codes: Record<number, number> = {};
  for (const a of answers) codes[a.code] = (codes[a.code] ?? 0) + 1;
  const lateOk = answers.filter((a) => a.code === 0 && a.ms > DEADLINE_MS).length;
  return { p50: pct(sorted, 50), p99: pct(sorted, 99), codes, lateOk };
}

let serial = 0;
const reserveBody = () => {
  const n = serial++;
  const start = BigInt(2_000_000_000 + n * 3600);
  return toBinary(
    ReserveRequestSchema,
    create(ReserveRequestSchema, {
      reservation: {
        userId: "burst",
        resourceId: `burst-${n % 500}`,
        start: { seconds: start },
        end: { seconds: start + 3600n },
      },
    }),
  );
};
const badGet = toBinary(GetRequestSchema, create(GetRequestSchema, { id: "not-an-id" }));

/** `/healthz` answer time in ms, asked once `delayMs` into whatever runs. */
async function healthz(httpAddress: string, delayMs: number) {
  await new Promise((r) => setTimeout(r, delayMs));
  const t0 = performance.now();
  await fetch(`http://${httpAddress}/healthz`).then((r) => r.arrayBuffer());
  return performance.now() - t0;
}

/** The service's maximum reserve rate: 256 calls in flight for 3 s, closed loop. */
async function maxRate(address: string): Promise<number> {
  const session = connect(`http://${address}`);
  session.on("error", () => {});
  const until = performance.now() + 3000;
  let done = 0;
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (performance.now() < until) {
        await call(session, "grpc-native", "reserve", reserveBody());
        done++;
      }
    }),
  );
  session.close();
  return done / 3;
}

/**
 * Open loop at `rate` calls/s for `seconds`, each call with the deadline, spread over enough
 * sessions that none holds more streams than a server advertises (1000): a client that opens
 * more is refused them, and flooding with refused streams gets a session closed.
 */
async function steady(address: string, rate: number, seconds: number) {
  const sessions = Array.from({ length: Math.max(1, Math.ceil(rate / 1000)) }, () =>
    connect(`http://${address}`),
  );
  for (const s of sessions) s.on("error", () => {});
  const answers: Promise<Answer>[] = [];
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) {
      const at = performance.now();
      answers.push(
        call(
          sessions[sent % sessions.length] as ClientHttp2Session,
          "grpc-native",
          "reserve",
          reserveBody(),
        ).then((code) => ({
          code,
          ms: performance.now() - at,
        })),
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const all = await Promise.all(answers);
  for (const s of sessions) s.close();
  return all;
}

async function main() {
  const procs = new Processes();
  const pg = EMBEDDED ? undefined : await startPgServer();
  try {
    const child = procs.spawn(process.execPath, [here("../src/cli/main.js"), "serve"], {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: "0",
      HTTP_PORT: "0",
      DATABASE_URL: pg?.url ?? "memory://",
      LOG_LEVEL: "error",
    });
    const [, grpcAddress = "", httpAddress = ""] = await waitForLine(
      child,
      /^rsvp serving gRPC on (\S+), HTTP on (\S+),/,
      120_000,
    );
    const rows: string[] = [];
    const line = (cells: Array<string | number>) => rows.push(`| ${cells.join(" | ")} |`);
    line([
      "protocol",
      "burst",
      "floor p99 ms",
      "p50 ms",
      "p99 ms",
      "target ms",
      "met",
      "late OK",
      "codes",
      "healthz ms",
    ]);
    line(Array(10).fill("---"));
    for (const protocol of ["grpc-native", "grpc-http", "connect"] as const) {
      const address = protocol === "grpc-native" ? grpcAddress : httpAddress;
      const floor = summary(await burst(address, protocol, "get", Array(BURST).fill(badGet)));
      const bodies = Array.from({ length: BURST }, reserveBody);
      const [answers, health] = await Promise.all([
        burst(address, protocol, "reserve", bodies),
        healthz(httpAddress, 20),
      ]);
      const s = summary(answers);
      const target = DEADLINE_MS + floor.p99 + 50;
      line([
        protocol,
        BURST,
        floor.p99.toFixed(0),
        s.p50.toFixed(0),
        s.p99.toFixed(0),
        target.toFixed(0),
        s.p99 <= target ? "yes" : "no",
        s.lateOk,
        JSON.stringify(s.codes),
        health.toFixed(0),
      ]);
    }
    const max = await maxRate(grpcAddress);
    const [steadyAnswers, health] = await Promise.all([
      steady(grpcAddress, 2 * max, 5),
      healthz(httpAddress, 2500),
    ]);
    const s = summary(steadyAnswers);
    console.log(`deadline ${DEADLINE_MS} ms, database ${EMBEDDED ? "embedded" : "postgres"}\n`);
    console.log(rows.join("\n"));
    console.log(
      `\nsteady open loop at 2× the maximum (${max.toFixed(0)} reserves/s): p50 ${s.p50.toFixed(0)} ms, ` +
        `p99 ${s.p99.toFixed(0)} ms (target ${DEADLINE_MS + 50}), late OK ${s.lateOk}, ` +
        `codes ${JSON.stringify(s.codes)}, /healthz ${health.toFixed(0)} ms`,
    );
  } finally {
    await procs.stopAll();
    await pg?.stop();
  }
}

await main();
