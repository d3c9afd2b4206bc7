import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { ReservationService, ReserveRequestSchema } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { hostileBytes } from "./helpers/hostile.js";
import { envelope, RAW_PROTOCOLS, rawCall } from "./helpers/raw-rpc.js";
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
/** A valid ReserveRequest, whose truncations and bit flips make good garbage. */
const VALID = toBinary(
  ReserveRequestSchema,
  create(ReserveRequestSchema, {
    reservation: { userId: "u", resourceId: "raw", start: hour(0), end: hour(1), note: "n" },
    requestId: "k",
  }),
);
/** A valid ReserveRequest of a resource only the framing checks use: each of them refuses it. */
const REFUSED = toBinary(
  ReserveRequestSchema,
  create(ReserveRequestSchema, {
    reservation: { userId: "u", resourceId: "refused", start: hour(0), end: hour(1) },
  }),
);
const LIMIT = { timeout: 240_000 };

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
  describe(`fuzz: hostile bytes and framing never fault the server (${backend.name})`, () => {
    let t: TestServer;
    let adminToken: string;
    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
      adminToken = await tokenFor("root", "admin");
    });
    after(() => t.close());

    it("random bytes as the request message of every method (raw gRPC)", LIMIT, async () => {
      const raw = rawClient(t.app.grpcAddress);
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${adminToken}`);
      const bytes = hostileBytes(VALID);
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

    it(
      "random bytes as the request of every method on the HTTP port's three binary protocols",
      LIMIT,
      async () => {
        const session = http2.connect(`http://${t.app.httpAddress}`);
        session.on("error", () => {});
        const headers = { authorization: `Bearer ${adminToken}` };
        try {
          await fc.assert(
            fc.asyncProperty(fc.nat(), fc.nat(), hostileBytes(VALID), async (pick, p, body) => {
              const m = ReservationService.methods[pick % ReservationService.methods.length];
              const protocol = RAW_PROTOCOLS[p % RAW_PROTOCOLS.length];
              assert.ok(m && protocol);
              const path = `/${ReservationService.typeName}/${m.name}`;
              const streaming = m.methodKind !== "unary";
              const code = await rawCall(session, protocol, path, streaming, body, {
                headers,
                openAfterMs: 300,
              });
              assert.ok(
                !SERVER_FAULTS.has(code),
                `${protocol} ${m.name} got ${grpc.status[code]} for ${Buffer.from(body).toString("hex")}`,
              );
            }),
            { numRuns: RUNS },
          );
        } finally {
          session.close();
        }
      },
    );

    it(
      "compressed-flag envelopes, corrupt compression and unknown encodings are the caller's fault",
      LIMIT,
      async () => {
        const session = http2.connect(`http://${t.app.httpAddress}`);
        session.on("error", () => {});
        const auth = { authorization: `Bearer ${adminToken}` };
        const reserve = `/${ReservationService.typeName}/reserve`;
        const listen = `/${ReservationService.typeName}/listen`;
        const notGzip = Buffer.from("not gzip at all");
        const gzippedGarbage = gzipSync(Buffer.from([0xff, 0xff, 0xff]));
        const cases = [
          // A valid message flagged as compressed, with no encoding to decompress it by.
          {
            what: "compressed flag, no encoding",
            body: envelope(REFUSED, 1),
            headers: {},
            code: 3,
          },
          { what: "corrupt gzip", body: envelope(notGzip, 1), headers: { x: "gzip" }, code: 3 },
          {
            what: "gzip of garbage",
            body: envelope(gzippedGarbage, 1),
            headers: { x: "gzip" },
            code: 3,
          },
          // A message cut short: its envelope promises more bytes than arrive.
          {
            what: "truncated message",
            body: envelope(REFUSED).subarray(0, 9),
            headers: {},
            code: 3,
          },
          { what: "no message at all", body: Buffer.alloc(0), headers: {}, code: 3 },
          {
            what: "truncated gzip message",
            body: envelope(gzipSync(Buffer.from(REFUSED)), 1).subarray(0, 12),
            headers: { x: "gzip" },
            code: 3,
          },
          // The protocols require UNIMPLEMENTED here, so that a client falls back to another.
          {
            what: "unknown encoding",
            body: envelope(REFUSED, 1),
            headers: { x: "snappy" },
            code: 12,
          },
        ];
        try {
          for (const protocol of RAW_PROTOCOLS) {
            for (const [path, streaming] of [
              [reserve, false],
              [listen, true],
            ] as const) {
              // Connect's unary form is not enveloped: its whole body is the message.
              if (protocol === "connect" && !streaming) continue;
              const encodingHeader =
                protocol === "connect" ? "connect-content-encoding" : "grpc-encoding";
              for (const c of cases) {
                const headers: Record<string, string> = { ...auth };
                if (c.headers.x) headers[encodingHeader] = c.headers.x;
                const code = await rawCall(session, protocol, path, streaming, c.body, {
                  headers,
                  raw: true,
                });
                assert.equal(code, c.code, `${protocol} ${path} ${c.what}: ${grpc.status[code]}`);
              }
            }
          }
          // The JSON forms of the enveloped protocols, flagged compressed with no encoding.
          for (const [protocol, type] of [
            ["grpc", "application/grpc+json"],
            ["grpc-web", "application/grpc-web+json"],
            ["connect", "application/connect+json"],
          ] as const) {
            const body = envelope(Buffer.from("{}"), 1);
            const headers = { ...auth, "content-type": type };
            const code = await rawCall(session, protocol, listen, true, body, {
              headers,
              raw: true,
            });
            assert.equal(code, 3, `${type} compressed flag, no encoding: ${grpc.status[code]}`);
          }
          // Connect's unary form: the body compressed as a whole (Content-Encoding).
          for (const [what, body, encoding, code] of [
            ["corrupt gzip", notGzip, "gzip", 3],
            ["gzip of garbage", gzippedGarbage, "gzip", 3],
            ["unknown encoding", Buffer.from(REFUSED), "snappy", 12],
          ] as const) {
            const headers = { ...auth, "content-encoding": encoding };
            const got = await rawCall(session, "connect", reserve, false, body, { headers });
            assert.equal(got, code, `connect unary ${what}: ${grpc.status[got]}`);
          }
          // The native port answers alike, and stores nothing it refused.
          const native = http2.connect(`http://${t.app.grpcAddress}`);
          native.on("error", () => {});
          try {
            for (const c of cases) {
              const headers: Record<string, string> = { ...auth };
              if (c.headers.x) headers["grpc-encoding"] = c.headers.x;
              const code = await rawCall(native, "grpc", reserve, false, c.body, {
                headers,
                raw: true,
              });
              assert.equal(code, c.code, `native ${c.what}: ${grpc.status[code]}`);
            }
            // A timeout header no one can read is the caller's fault too, on both ports.
            for (const [name, s] of [
              ["native", native],
              ["HTTP port", session],
            ] as const) {
              for (const timeout of ["bogus", "1X"]) {
                const code = await rawCall(s, "grpc", reserve, false, REFUSED, {
                  headers: { ...auth, "grpc-timeout": timeout },
                });
                assert.equal(code, 3, `${name} grpc-timeout ${timeout}: ${grpc.status[code]}`);
              }
            }
          } finally {
            native.close();
          }
          const stored = await t.client.query(
            { resourceId: "refused" },
            { metadata: { authorization: `Bearer ${adminToken}` } },
          );
          for await (const r of stored) assert.fail(`a refused message was stored: ${r.id}`);
        } finally {
          session.close();
        }
      },
    );
  });
}
