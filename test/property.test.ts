import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { RpcError } from "../src/client/grpc-client.js";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { collect, hour } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

/** The in-memory model: what the service must agree with. */
interface ModelRow {
  id: string;
  resource: string;
  from: number;
  to: number;
  status: S;
  note: string;
}

type Command =
  | { kind: "reserve"; resource: number; from: number; len: number; status: S }
  | { kind: "confirm" | "cancel" | "get"; pick: number }
  | { kind: "update"; pick: number; note: string };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant("reserve" as const),
    resource: fc.integer({ min: 0, max: 2 }),
    from: fc.integer({ min: 0, max: 23 }),
    len: fc.integer({ min: 1, max: 6 }),
    status: fc.constantFrom(S.UNKNOWN, S.PENDING, S.CONFIRMED, S.BLOCKED),
  }),
  fc.record({
    kind: fc.constantFrom("confirm" as const, "cancel" as const, "get" as const),
    pick: fc.nat(),
  }),
  fc.record({
    kind: fc.constant("update" as const),
    pick: fc.nat(),
    note: fc.string({ maxLength: 20 }),
  }),
);

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => status.OK,
    (e: unknown) => (e instanceof RpcError ? e.code : -1),
  );

for (const backend of backends) {
  describe(`model-based property (${backend.name})`, () => {
    let t: TestServer;
    let run = 0;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    it("random reserve/confirm/update/cancel sequences agree with an in-memory model and never overlap", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), async (commands) => {
          const prefix = `prop-${run++}-`;
          const model: ModelRow[] = [];
          for (const c of commands) {
            if (c.kind === "reserve") {
              const resource = `${prefix}${c.resource}`;
              const to = c.from + c.len;
              const clash = model.some(
                (m) =>
                  m.resource === resource &&
                  m.status !== S.CANCELLED &&
                  m.from < to &&
                  c.from < m.to,
              );
              const req = {
                userId: "u",
                resourceId: resource,
                start: hour(c.from),
                end: hour(to),
                status: c.status,
              };
              const res = await t.client.reserve({ reservation: req }).catch((e: unknown) => e);
              if (clash) {
                assert.ok(
                  res instanceof RpcError && res.code === status.ALREADY_EXISTS,
                  `expected a clash: ${String(res)}`,
                );
              } else {
                assert.ok(!(res instanceof Error), `expected success: ${String(res)}`);
                const r = (res as { reservation?: { id: string; status: S } }).reservation;
                assert.ok(r);
                const expected = c.status === S.UNKNOWN ? S.PENDING : c.status;
                assert.equal(r.status, expected);
                model.push({ id: r.id, resource, from: c.from, to, status: expected, note: "" });
              }
              continue;
            }
            const row = model[c.pick % Math.max(model.length, 1)];
            if (!row) continue;
            if (c.kind === "confirm") {
              const ok = row.status === S.PENDING || row.status === S.CONFIRMED;
              assert.equal(
                await codeOf(t.client.confirm({ id: row.id })),
                ok ? status.OK : status.FAILED_PRECONDITION,
              );
              if (ok) row.status = S.CONFIRMED;
            } else if (c.kind === "cancel") {
              assert.equal(await codeOf(t.client.cancel({ id: row.id })), status.OK);
              row.status = S.CANCELLED;
            } else if (c.kind === "update") {
              const ok = row.status !== S.CANCELLED;
              assert.equal(
                await codeOf(t.client.update({ id: row.id, note: c.note })),
                ok ? status.OK : status.FAILED_PRECONDITION,
              );
              if (ok) row.note = c.note;
            } else {
              const got = await t.client.get({ id: row.id });
              assert.equal(got.reservation?.status, row.status);
              assert.equal(got.reservation?.note, row.note);
            }
          }
          // The whole state, through query, equals the model.
          for (const resource of new Set(model.map((m) => m.resource))) {
            const stored = [
              ...(await collect(t.client.query({ resourceId: resource }))),
              ...(await collect(t.client.query({ resourceId: resource, status: S.CANCELLED }))),
            ];
            const key = (x: { id: string; status: S; note: string }) =>
              `${x.id}/${x.status}/${x.note}`;
            assert.deepEqual(
              stored.map(key).sort(),
              model
                .filter((m) => m.resource === resource)
                .map(key)
                .sort(),
            );
          }
        }),
        { numRuns: 25 },
      );
      const [overlaps] = await t.app.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM rsvp.reservations a JOIN rsvp.reservations b
           ON a.resource_id = b.resource_id AND a.id < b.id AND a.timespan && b.timespan
          WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'`,
      );
      assert.equal(overlaps?.n, 0);
    });

    it("query streams every matching row once, in order, across many pages", async () => {
      const { queryReservations } = await import("../src/db/store/query-reservations.js");
      // Windows of random length on two resources; a page size of 3 forces many pages.
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({ res: fc.integer({ min: 0, max: 1 }), len: fc.integer({ min: 1, max: 9 }) }),
            { maxLength: 25 },
          ),
          fc.integer({ min: 0, max: 60 }),
          fc.integer({ min: 1, max: 60 }),
          fc.boolean(),
          async (rows, qFrom, qLen, desc) => {
            const resource = `page-${run++}`;
            const us = (h: number) => BigInt(Date.UTC(2030, 0, 1) + h * 3_600_000) * 1000n;
            // The model: what was reserved, from the reserve answers, never from query.
            const model: Array<{ id: string; s: bigint; e: bigint }> = [];
            const cursor = [0, 0];
            for (const r of rows) {
              const from = cursor[r.res] ?? 0;
              cursor[r.res] = from + r.len;
              const made = await t.client.reserve({
                reservation: {
                  userId: "u",
                  resourceId: `${resource}-${r.res}`,
                  start: hour(from),
                  end: hour(from + r.len),
                },
              });
              assert.ok(made.reservation);
              model.push({ id: made.reservation.id, s: us(from), e: us(from + r.len) });
            }
            const start = us(qFrom);
            const end = us(qFrom + qLen);
            const expected = model
              .filter((r) => r.s < end && start < r.e)
              .sort((a, b) => (a.s === b.s ? (a.id < b.id ? -1 : 1) : a.s < b.s ? -1 : 1));
            if (desc) expected.reverse();
            const got: string[] = [];
            for (const prefix of [`${resource}-`]) {
              for await (const page of queryReservations(t.app.db, { start, end, desc }, 3)) {
                for (const r of page) if (r.resourceId.startsWith(prefix)) got.push(r.id);
              }
            }
            assert.deepEqual(
              got,
              expected.map((r) => r.id),
            );
          },
        ),
        { numRuns: 20 },
      );
    });
  });
}
