import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import {
  hostileCatalogRequest,
  hostileGroupRequest,
  hostileRequest,
  hostileString,
} from "./helpers/hostile.js";
import {
  type Caller,
  connectCaller,
  connectResourceCaller,
  connectTransport,
  failureOf,
  grpcCaller,
  grpcResourceCaller,
  type ResourceCaller,
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
/** Every call has this deadline: one that runs out is a hang, a fault too. */
const CALL_MS = 15_000;
/** What every write leaves behind: a failed call must leave all of it as it was. */
const STATE_SQL = `SELECT (SELECT count(*) FROM rsvp.reservations)::text AS reservations,
  (SELECT max(updated_at) FROM rsvp.reservations)::text AS updated,
  (SELECT count(*) FROM rsvp.reservation_changes)::text AS changes,
  (SELECT count(*) FROM rsvp.reserve_requests)::text AS keys,
  (SELECT count(*) FROM rsvp.resources)::text AS resources,
  (SELECT max(updated_at) FROM rsvp.resources)::text AS resources_updated`;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const LIMIT = { timeout: 240_000 };

/** Calls `rpc` with `req`; a listen that stays open past a moment is cut (that is fine). */
async function call(c: Caller | ResourceCaller, rpc: string, req: never): Promise<number> {
  if (rpc === "listen") {
    // A valid listen waits for events: once it has been open a moment, it has passed.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 200);
    const failure = await failureOf((c as Caller).listen(req, 1, stop.signal));
    clearTimeout(timer);
    const cut = stop.signal.aborted && failure?.code === grpc.status.CANCELLED;
    return cut ? grpc.status.OK : (failure?.code ?? grpc.status.OK);
  }
  const unary = (c as unknown as Record<string, (r: never) => Promise<unknown>>)[rpc];
  assert.ok(unary, `${c.transport} has no ${rpc}`);
  const failure = await failureOf(unary(req));
  return failure?.code ?? grpc.status.OK;
}

/** A request for a failure message: bigints as text, long strings cut. */
const shown = (req: unknown) =>
  JSON.stringify(req, (_k, v) =>
    typeof v === "bigint"
      ? v.toString()
      : typeof v === "string" && v.length > 80
        ? `${v.slice(0, 80)}… (${v.length})`
        : v,
  );

for (const backend of backends) {
  describe(`fuzz: hostile requests never fault the server (${backend.name})`, () => {
    let t: TestServer;
    let callers: Caller[];
    let catalog: ResourceCaller[];
    let adminToken: string;
    before(async () => {
      // No hold is released while the property runs: every change in the store is a call's.
      t = await startTestServer(backend, undefined, {
        auth: TEST_AUTH,
        sweepIntervalMs: 3_600_000,
      });
      adminToken = await tokenFor("root", "admin");
      const http = connectTransport(t.app.httpAddress);
      // gRPC on the HTTP port: the same protocol as the native port, through Connect's server.
      const grpcOverHttp = createGrpcTransport({ baseUrl: `http://${t.app.httpAddress}` });
      const user = await tokenFor("alice", "user");
      const service = await tokenFor("billing", "service");
      const o = { timeoutMs: CALL_MS };
      callers = [
        grpcCaller(t.client, adminToken, o),
        grpcCaller(t.client, user, o),
        grpcCaller(t.client, service, o),
        connectCaller(http, adminToken, o),
        connectCaller(http, user, o),
        connectCaller(grpcOverHttp, adminToken, { ...o, name: "grpc on the HTTP port" }),
      ];
      catalog = [
        grpcResourceCaller(t.resources, adminToken, o),
        connectResourceCaller(http, adminToken, o),
        connectResourceCaller(grpcOverHttp, adminToken, { ...o, name: "grpc on the HTTP port" }),
      ];
    });
    after(() => t.close());

    it(
      "random field values on every rpc, on both ports: answered, never a fault, never half-written",
      LIMIT,
      async () => {
        const seen = new Map<string, Set<number>>();
        const state = async () => JSON.stringify(await t.app.db.query(STATE_SQL));
        const requests = fc.oneof(
          { arbitrary: hostileRequest, weight: 3 },
          { arbitrary: hostileGroupRequest, weight: 1 },
          { arbitrary: hostileCatalogRequest, weight: 2 },
        );
        await fc.assert(
          fc.asyncProperty(requests, fc.nat(), async ({ rpc, req }, pick) => {
            const pool: ReadonlyArray<Caller | ResourceCaller> =
              rpc.endsWith("Resource") || rpc === "listResources" ? catalog : callers;
            const caller = pool[pick % pool.length];
            assert.ok(caller);
            const before = await state();
            const code = await call(caller, rpc, req as never);
            const codes = seen.get(rpc) ?? new Set();
            codes.add(code);
            seen.set(rpc, codes);
            const what = `${caller.transport} ${rpc} got ${grpc.status[code]} for ${shown(req)}`;
            assert.ok(!SERVER_FAULTS.has(code), what);
            assert.notEqual(code, grpc.status.DEADLINE_EXCEEDED, `no answer in time: ${what}`);
            if (code !== grpc.status.OK) assert.equal(await state(), before, `wrote: ${what}`);
          }),
          { numRuns: RUNS },
        );
        assert.equal(seen.size, 15, "every rpc was tried");
        // Still serving, and correctly.
        const ok = await callers[0]?.reserve({
          reservation: { userId: "u", resourceId: "fuzz-after", start: hour(0), end: hour(1) },
        });
        assert.equal(ok?.reservation?.resourceId, "fuzz-after");
      },
    );

    it("random authorization headers are UNAUTHENTICATED, never a fault", LIMIT, async () => {
      await fc.assert(
        // Headers past HTTP/2's 64 KiB header list are reset by the HTTP/2 layer before any rpc
        // begins (grpc-js reports the reset as INTERNAL): not what this property is about.
        fc.asyncProperty(
          hostileString.filter((h) => h.length < 60_000),
          async (header) => {
            const failure = await failureOf(
              t.client.get(
                { id: "00000000-0000-4000-8000-000000000000" },
                // grpc-js refuses to send some header values at all; those never reach the server.
                { metadata: { authorization: `Bearer ${header.replace(/[^\x20-\x7e]/g, "")}` } },
              ),
            );
            assert.equal(
              failure?.code,
              grpc.status.UNAUTHENTICATED,
              JSON.stringify(header).slice(0, 200),
            );
          },
        ),
        { numRuns: Math.min(RUNS, 100) },
      );
    });
  });
}
