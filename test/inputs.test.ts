import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import { Code, quote, RsvpError } from "../src/domain/errors.js";
import { ReservationService } from "../src/gen/reservation/reservation_pb.js";
import { ResourceService } from "../src/gen/reservation/resource_pb.js";
import { createLogger } from "../src/server/logger.js";
import {
  MAX_STATUS_MESSAGE,
  toGrpcStatus,
  toRsvpError,
} from "../src/server/transport/error-mapping.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { connectTransport, failureOf } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const DAY = 86_400n;
const TEN_YEARS = 3653n * DAY;
const INT64_MAX = 2n ** 63n - 1n;
const CALL_MS = 10_000;
/** Codes that would mean the server, not the request, is at fault (or never answered). */
const FAULTS = new Set<number>([
  status.UNKNOWN,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
  status.DEADLINE_EXCEEDED,
]);
const LONG = "é".repeat(100_000);

type Reservations = ReturnType<typeof createClient<typeof ReservationService>>;
type Catalog = ReturnType<typeof createClient<typeof ResourceService>>;
interface Port {
  readonly name: string;
  readonly reservations: Reservations;
  readonly resources: Catalog;
}

function ports(t: TestServer): Port[] {
  const connect = connectTransport(t.app.httpAddress);
  const grpcOverHttp = createGrpcTransport({ baseUrl: `http://${t.app.httpAddress}` });
  return [
    // The native client's calls take the same requests and resolve to the same messages.
    { name: "native gRPC", reservations: t.client, resources: t.resources } as unknown as Port,
    {
      name: "Connect",
      reservations: createClient(ReservationService, connect),
      resources: createClient(ResourceService, connect),
    },
    {
      name: "gRPC on the HTTP port",
      reservations: createClient(ReservationService, grpcOverHttp),
      resources: createClient(ResourceService, grpcOverHttp),
    },
  ];
}

/** Calls `call` with a deadline (native calls take `deadlineMs`, Connect's `timeoutMs`). */
const opts = { timeoutMs: CALL_MS, deadlineMs: CALL_MS } as object;

const window = (startIso: string, endIso: string) => ({ start: ts(startIso), end: ts(endIso) });

describe("error messages quote callers' values cut short", () => {
  it("quote cuts after 64 characters, never inside a surrogate pair", () => {
    assert.equal(quote("abc"), '"abc"');
    assert.equal(quote("x".repeat(64)), `"${"x".repeat(64)}"`);
    assert.equal(quote("x".repeat(65)), `"${"x".repeat(64)}"…`);
    assert.equal(quote("🦄".repeat(100)), `"${"🦄".repeat(64)}"…`);
  });

  it("the boundary bounds any status message, on both mappings", () => {
    const log = createLogger("silent");
    const e = toRsvpError(new RsvpError(Code.InvalidArgument, "y".repeat(100_000)), log);
    assert.equal(e.code, Code.InvalidArgument);
    assert.equal(e.message, `${"y".repeat(MAX_STATUS_MESSAGE)}…`);
    const s = toGrpcStatus(new RsvpError(Code.NotFound, "z".repeat(100_000)), log);
    assert.equal(s.code, status.NOT_FOUND);
    assert.equal(s.details.length, MAX_STATUS_MESSAGE + 1);
  });
});

for (const backend of backends) {
  describe(`inputs are bounded at the door (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    for (const [i, name] of ["native gRPC", "Connect", "gRPC on the HTTP port"].entries()) {
      const port = () => {
        const p = ports(t)[i];
        assert.ok(p && p.name === name);
        return p;
      };
      const p = `p${i}`;

      it(`${name}: catalog durations past 10 years are INVALID_ARGUMENT, and nothing is stored`, async () => {
        const { resources } = port();
        const far = [INT64_MAX, 1_000_000_000_000n, 315_360_000_000n, TEN_YEARS + 1n];
        const bad = far.flatMap((seconds) => [
          { bufferBefore: { seconds } },
          { bufferAfter: { seconds } },
          { rules: { minDuration: { seconds } } },
          { rules: { maxDuration: { seconds } } },
          { rules: { minNotice: { seconds } } },
          { rules: { maxAdvance: { seconds } } },
        ]);
        for (const fields of bad) {
          const f = await failureOf(
            resources.putResource({ resource: { id: `${p}-far`, ...fields } }, opts),
          );
          assert.equal(f?.code, status.INVALID_ARGUMENT, `${JSON.stringify(fields, big)}`);
        }
        const f = await failureOf(resources.getResource({ id: `${p}-far` }, opts));
        assert.equal(f?.code, status.NOT_FOUND);
      });

      it(`${name}: 10-year buffers at the ends of time: reserve and available answer, never a fault`, async () => {
        const { resources, reservations } = port();
        const pool = `${p}-edge`;
        const ten = { seconds: TEN_YEARS };
        for (const id of [`${pool}-a`, `${pool}-b`]) {
          await resources.putResource(
            { resource: { id, pool, bufferBefore: ten, bufferAfter: ten } },
            opts,
          );
        }
        const ends = [
          window("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
          window("9999-12-31T22:00:00Z", "9999-12-31T23:59:59Z"),
        ];
        for (const w of ends) {
          const calls: Array<[string, Promise<unknown>]> = [
            [
              "reserve",
              reservations.reserve(
                { reservation: { userId: "u", resourceId: `${pool}-a`, ...w } },
                opts,
              ),
            ],
            [
              "pool reserve",
              reservations.reserve({ reservation: { userId: "u", ...w }, pool }, opts),
            ],
            ["available", reservations.available({ resourceId: `${pool}-a`, ...w }, opts)],
            ["available(pool)", reservations.available({ pool, ...w }, opts)],
            [
              "available, a long range",
              reservations.available(
                {
                  pool,
                  ...window("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
                  minDuration: ten,
                },
                opts,
              ),
            ],
          ];
          for (const [what, call] of calls) {
            const f = await failureOf(call);
            assert.ok(
              !f || !FAULTS.has(f.code),
              `${what} at ${JSON.stringify(w, big)}: ${f?.message}`,
            );
          }
        }
      });

      it(`${name}: a hold past a year and a min_duration past 10 years are INVALID_ARGUMENT`, async () => {
        const { reservations } = port();
        const w = window("2031-01-01T09:00:00Z", "2031-01-01T10:00:00Z");
        const r = { userId: "u", resourceId: `${p}-hold`, ...w };
        const year = 366 * 86_400;
        const tooLong = await failureOf(
          reservations.reserve({ reservation: r, holdSeconds: year + 1 }, opts),
        );
        assert.equal(tooLong?.code, status.INVALID_ARGUMENT);
        const farExpiry = ts(new Date(Date.now() + (year + 86_400) * 1000).toISOString());
        const tooFar = await failureOf(
          reservations.reserve({ reservation: { ...r, expiresAt: farExpiry } }, opts),
        );
        assert.equal(tooFar?.code, status.INVALID_ARGUMENT);
        const made = await reservations.reserve({ reservation: r, holdSeconds: year }, opts);
        assert.ok(made.reservation?.expiresAt);
        const min = await failureOf(
          reservations.available(
            { resourceId: `${p}-hold`, ...w, minDuration: { seconds: TEN_YEARS + 1n } },
            opts,
          ),
        );
        assert.equal(min?.code, status.INVALID_ARGUMENT);
      });

      it(`${name}: rrule COUNT and INTERVAL are whole numbers from 1`, async () => {
        const { reservations } = port();
        const first = {
          reservation: {
            userId: "u",
            resourceId: `${p}-rr`,
            ...window("2031-01-06T09:00:00Z", "2031-01-06T10:00:00Z"),
          },
        };
        for (const rrule of [
          "FREQ=DAILY;COUNT=-1",
          "FREQ=DAILY;COUNT=0",
          "FREQ=DAILY;COUNT=+3",
          "FREQ=DAILY;COUNT=1e2",
          "FREQ=DAILY;COUNT=3;INTERVAL=2.5",
          "FREQ=DAILY;COUNT=3;INTERVAL=0",
          "FREQ=DAILY;COUNT=3;INTERVAL=-1",
        ]) {
          const f = await failureOf(reservations.reserveSeries({ first, rrule }, opts));
          assert.equal(f?.code, status.INVALID_ARGUMENT, rrule);
        }
        const page = await reservations.filter({ resourceId: `${p}-rr` }, opts);
        assert.deepEqual(page.reservations, []);
        const ok = await reservations.reserveSeries(
          { first, rrule: "FREQ=DAILY;COUNT=3;INTERVAL=2" },
          opts,
        );
        assert.equal(ok.reservations.length, 3);
      });

      it(`${name}: ids with control or bidi-control characters are INVALID_ARGUMENT`, async () => {
        const { reservations, resources } = port();
        const w = window("2031-02-01T09:00:00Z", "2031-02-01T10:00:00Z");
        for (const bad of ["\u202Eevil", "a\u2066b", "\u200F", "x\u0085", "\u061C"]) {
          const calls: Array<[string, Promise<unknown>]> = [
            [
              "resource_id",
              reservations.reserve({ reservation: { userId: "u", resourceId: bad, ...w } }, opts),
            ],
            [
              "user_id",
              reservations.reserve(
                { reservation: { userId: bad, resourceId: `${p}-b`, ...w } },
                opts,
              ),
            ],
            ["pool", reservations.reserve({ reservation: { userId: "u", ...w }, pool: bad }, opts)],
            [
              "request_id",
              reservations.reserve(
                { reservation: { userId: "u", resourceId: `${p}-b`, ...w }, requestId: bad },
                opts,
              ),
            ],
            ["resource.id", resources.putResource({ resource: { id: bad } }, opts)],
            [
              "resource.pool",
              resources.putResource({ resource: { id: `${p}-b`, pool: bad } }, opts),
            ],
          ];
          // Every call's outcome is awaited together: none rejects unheard while another runs.
          const failures = await Promise.all(calls.map(([, call]) => failureOf(call)));
          calls.forEach(([field], i) => {
            assert.equal(
              failures[i]?.code,
              status.INVALID_ARGUMENT,
              `${field} ${JSON.stringify(bad)}`,
            );
          });
        }
      });

      it(`${name}: a 100,000-character value is quoted cut short, and the call is answered`, async () => {
        const { reservations, resources } = port();
        const w = window("2031-03-01T09:00:00Z", "2031-03-01T10:00:00Z");
        const first = { reservation: { userId: "u", resourceId: `${p}-long`, ...w } };
        const calls: Array<[string, () => Promise<unknown>]> = [
          ["get id", () => reservations.get({ id: LONG }, opts)],
          ["cancel id", () => reservations.cancel({ id: LONG }, opts)],
          ["filter group_id", () => reservations.filter({ groupId: LONG }, opts)],
          [
            "series time_zone",
            () =>
              reservations.reserveSeries(
                { first, rrule: "FREQ=DAILY;COUNT=2", timeZone: LONG },
                opts,
              ),
          ],
          [
            "series rrule",
            () =>
              reservations.reserveSeries({ first, rrule: `FREQ=DAILY;COUNT=2;${LONG}=1` }, opts),
          ],
          [
            "series rrule value",
            () => reservations.reserveSeries({ first, rrule: `FREQ=DAILY;COUNT=${LONG}` }, opts),
          ],
          [
            "resource time_zone",
            () => resources.putResource({ resource: { id: `${p}-tz`, timeZone: LONG } }, opts),
          ],
          ["available pool", () => reservations.available({ pool: LONG, ...w }, opts)],
          ["resource id", () => resources.getResource({ id: LONG }, opts)],
        ];
        for (const [what, call] of calls) {
          const f = await failureOf(call());
          assert.equal(f?.code, status.INVALID_ARGUMENT, `${what}: ${f?.message.slice(0, 200)}`);
          assert.ok(f && f.message.length < 300, `${what}: a message of ${f?.message.length}`);
        }
        // The connection still serves.
        const { reservation } = await reservations.reserve(first, opts);
        assert.equal(reservation?.resourceId, `${p}-long`);
      });
    }
  });
}

function big(_key: string, v: unknown) {
  return typeof v === "bigint" ? v.toString() : v;
}
