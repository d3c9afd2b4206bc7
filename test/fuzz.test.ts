import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { ReservationService, ReserveRequestSchema } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { hostileRequest, hostileString } from "./helpers/hostile.js";
import {
  type Caller,
  connectCaller,
  connectTransport,
  failureOf,
  grpcCaller,
} from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor } from "./helpers/tokens.js";

/** Codes that would mean the server, not the request, is at fault. */
const SERVER_FAULTS = new Set<number>([
  grpc.status.UNKNOWN,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const LIMIT = { timeout: 240_000 };

/** Calls `rpc` with `req`; a listen that stays open past a moment is cut (that is fine). */
async function call(c: Caller, rpc: string, req: never): Promise<number> {
  if (rpc === "listen") {
    // A valid listen waits for events: once it has been open a moment, it has passed.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 200);
    const failure = await failureOf(c.listen(req, 1, stop.signal));
    clearTimeout(timer);
    const cut = stop.signal.aborted && failure?.code === grpc.status.CANCELLED;
    return cut ? grpc.status.OK : (failure?.code ?? grpc.status.OK);
  }
  const unary = c[rpc as "get"] as (r: never) => Promise<unknown>;
  const failure = await failureOf(unary(req));
  return failure?.code ?? grpc.status.OK;
}

/** A grpc-js client that sends raw bytes as the request of any method. */
function rawClient(address: string) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const identity = (b: Buffer) => b;
  return {
    unary(path: string, bytes: Buffer, metadata: grpc.Metadata) {
      return new Promise<number>((resolve) => {
        client.makeUnaryRequest(
          path,
          identity,
          identity,
          bytes,
          metadata,
          { deadline: Date.now() + 5000 },
          (err) => resolve(err ? (err.code ?? grpc.status.UNKNOWN) : grpc.status.OK),
        );
      });
    },
    stream(path: string, bytes: Buffer, metadata: grpc.Metadata) {
      return new Promise<number>((resolve) => {
        const s = client.makeServerStreamRequest(path, identity, identity, bytes, metadata, {
          deadline: Date.now() + 5000,
        });
        // A request that parsed opens a stream: the first event or a moment of silence ends it.
        const timer = setTimeout(() => s.cancel(), 200);
        s.on("data", () => s.cancel());
        s.on("error", (err: grpc.ServiceError) => {
          clearTimeout(timer);
          resolve(err.code === grpc.status.CANCELLED ? grpc.status.OK : err.code);
        });
        s.on("end", () => {
          clearTimeout(timer);
          resolve(grpc.status.OK);
        });
      });
    },
    close: () => client.close(),
  };
}

for (const backend of backends) {
  describe(`fuzz: hostile requests never fault the server (${backend.name})`, () => {
    let t: TestServer;
    let callers: Caller[];
    let adminToken: string;
    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
      adminToken = await tokenFor("root", "admin");
      const http = connectTransport(t.app.httpAddress);
      const user = await tokenFor("alice", "user");
      const service = await tokenFor("billing", "service");
      callers = [
        grpcCaller(t.client, adminToken),
        grpcCaller(t.client, user),
        grpcCaller(t.client, service),
        connectCaller(http, adminToken),
        connectCaller(http, user),
      ];
    });
    after(() => t.close());

    it("random field values on every rpc, on both transports", LIMIT, async () => {
      const seen = new Map<string, Set<number>>();
      await fc.assert(
        fc.asyncProperty(hostileRequest, fc.nat(), async ({ rpc, req }, pick) => {
          const caller = callers[pick % callers.length];
          assert.ok(caller);
          const code = await call(caller, rpc, req as never);
          const codes = seen.get(rpc) ?? new Set();
          codes.add(code);
          seen.set(rpc, codes);
          assert.ok(
            !SERVER_FAULTS.has(code),
            `${caller.transport} ${rpc} got ${grpc.status[code]} for ${JSON.stringify(req, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`,
          );
        }),
        { numRuns: RUNS },
      );
      assert.equal(seen.size, 9, "every rpc was tried");
      // Still serving, and correctly.
      const ok = await callers[0]?.reserve({
        reservation: { userId: "u", resourceId: "fuzz-after", start: hour(0), end: hour(1) },
      });
      assert.equal(ok?.reservation?.resourceId, "fuzz-after");
    });

    it("random bytes as the request message of every method (raw gRPC)", LIMIT, async () => {
      const raw = rawClient(t.app.grpcAddress);
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${adminToken}`);
      const valid = Buffer.from(
        toBinary(
          ReserveRequestSchema,
          create(ReserveRequestSchema, {
            reservation: {
              userId: "u",
              resourceId: "raw",
              start: hour(0),
              end: hour(1),
              note: "n",
            },
            requestId: "k",
          }),
        ),
      );
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        // Truncated and bit-flipped valid messages reach deeper than pure noise.
        fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat()).map(([b, n]) => {
          const out = Buffer.concat([valid, Buffer.from(b)]);
          const at = n % out.length;
          out[at] = (out[at] ?? 0) ^ 0xff;
          return out.subarray(0, 1 + (n % out.length));
        }),
      );
      try {
        await fc.assert(
          fc.asyncProperty(fc.nat(), bytes, async (pick, body) => {
            const m = ReservationService.methods[pick % ReservationService.methods.length];
            assert.ok(m);
            const path = `/${ReservationService.typeName}/${m.name}`;
            const code =
              m.methodKind === "unary"
                ? await raw.unary(path, Buffer.from(body), metadata)
                : await raw.stream(path, Buffer.from(body), metadata);
            assert.ok(
              !SERVER_FAULTS.has(code),
              `${m.name} got ${grpc.status[code]} for ${Buffer.from(body).toString("hex")}`,
            );
          }),
          { numRuns: RUNS },
        );
      } finally {
        raw.close();
      }
    });

    it("random authorization headers are UNAUTHENTICATED, never a fault", LIMIT, async () => {
      await fc.assert(
        fc.asyncProperty(hostileString, async (header) => {
          const failure = await failureOf(
            t.client.get(
              { id: "00000000-0000-4000-8000-000000000000" },
              // grpc-js refuses to send some header values at all; those never reach the server.
              { metadata: { authorization: `Bearer ${header.replace(/[^\x20-\x7e]/g, "")}` } },
            ),
          );
          assert.equal(failure?.code, grpc.status.UNAUTHENTICATED, JSON.stringify(header));
        }),
        { numRuns: Math.min(RUNS, 100) },
      );
    });
  });
}
