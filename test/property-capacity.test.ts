import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { RpcError } from "../src/client/grpc-client.js";
import { QuotaPeriod } from "../src/gen/reservation/resource_pb.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

// Times are half hours from 2030-01-01T00:00Z over two days; a quota of QUOTA reservations a
// day per user; capacity changes as the commands say.
const QUOTA = 3;
const USERS = ["ann", "ben", "cal"] as const;

interface Row {
  user: string;
  from: number;
  to: number;
  quantity: number;
}

type Command =
  | { kind: "reserve"; user: number; from: number; len: number; quantity: number }
  | { kind: "cancel"; pick: number }
  | { kind: "move"; pick: number; from: number; len: number }
  | { kind: "capacity"; capacity: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("reserve" as const),
      user: fc.integer({ min: 0, max: USERS.length - 1 }),
      from: fc.integer({ min: 0, max: 90 }),
      len: fc.integer({ min: 1, max: 8 }),
      quantity: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("move" as const),
      pick: fc.nat(),
      from: fc.integer({ min: 0, max: 90 }),
      len: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("capacity" as const),
      capacity: fc.integer({ min: 0, max: 6 }),
    }),
  },
);
/** Steps of commands sent at once: a step of one is predicted exactly by the model. */
const steps = fc.array(fc.array(command, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 10,
});

const day = (halfHours: number) => Math.floor(halfHours / 48);

/** The most units in use at any instant of [from, to), leaving `except` out. */
function peak(rows: Map<string, Row>, from: number, to: number, except?: string) {
  let most = 0;
  for (const [id, r] of rows) {
    if (id === except || r.to <= from || r.from >= to) continue;
    const t = Math.max(r.from, from);
    let used = 0;
    for (const [j, o] of rows) if (j !== except && o.from <= t && t < o.to) used += o.quantity;
    most = Math.max(most, used);
  }
  return most;
}

const atQuota = (rows: Map<string, Row>, user: string, from: number, except?: string) =>
  [...rows].filter(([id, r]) => id !== except && r.user === user && day(r.from) === day(from))
    .length >= QUOTA;

const codeOf = async (call: Promise<unknown>) => {
  try {
    return { code: status.OK, value: await call };
  } catch (err) {
    assert.ok(err instanceof RpcError, String(err));
    return { code: err.code, value: undefined };
  }
};

for (const backend of backends) {
  describe(`counted capacity and quotas against a model (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    it("stored state never exceeds capacity or quota; every acknowledged reservation is stored", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(steps, async (plan) => {
          const resourceId = `prop-${++run}`;
          const put = (capacity: number) =>
            t.resources.putResource({
              resource: {
                id: resourceId,
                capacity,
                rules: { quota: { period: QuotaPeriod.DAY, maxReservations: QUOTA } },
              },
            });
          await put(4);
          let capacity = 4;
          const rows = new Map<string, Row>();
          for (const step of plan) {
            const alone = step.length === 1;
            const ids = [...rows.keys()];
            // Windows each row was moved to in this step, by calls that succeeded.
            const movedTo = new Map<string, Array<{ from: number; to: number }>>();
            await Promise.all(
              step.map(async (c) => {
                const cap = Math.max(capacity, 1);
                if (c.kind === "reserve") {
                  const user = USERS[c.user] as string;
                  const [from, to] = [c.from, c.from + c.len];
                  const expected =
                    c.quantity > cap
                      ? status.INVALID_ARGUMENT
                      : atQuota(rows, user, from)
                        ? status.FAILED_PRECONDITION
                        : peak(rows, from, to) + c.quantity > cap
                          ? status.ALREADY_EXISTS
                          : status.OK;
                  const r = await codeOf(
                    t.client.reserve({
                      reservation: {
                        userId: user,
                        resourceId,
                        start: hour(from / 2),
                        end: hour(to / 2),
                        quantity: c.quantity,
                      },
                    }),
                  );
                  if (alone) assert.equal(r.code, expected, `reserve ${JSON.stringify(c)}`);
                  else
                    assert.ok(
                      [
                        expected,
                        status.OK,
                        status.ALREADY_EXISTS,
                        status.FAILED_PRECONDITION,
                        status.INVALID_ARGUMENT,
                      ].includes(r.code),
                    );
                  const made = (r.value as { reservation?: { id: string } } | undefined)
                    ?.reservation;
                  if (made) rows.set(made.id, { user, from, to, quantity: c.quantity });
                } else if (c.kind === "cancel" && ids.length > 0) {
                  const id = ids[c.pick % ids.length] as string;
                  await t.client.cancel({ id });
                  rows.delete(id);
                } else if (c.kind === "move" && ids.length > 0) {
                  const id = ids[c.pick % ids.length] as string;
                  const row = rows.get(id);
                  if (!row) return; // cancelled by another command of this step
                  const [from, to] = [c.from, c.from + c.len];
                  const expected = atQuota(rows, row.user, from, id)
                    ? status.FAILED_PRECONDITION
                    : peak(rows, from, to, id) + row.quantity > cap
                      ? status.ALREADY_EXISTS
                      : status.OK;
                  const r = await codeOf(
                    t.client.update({ id, start: hour(from / 2), end: hour(to / 2) }),
                  );
                  if (alone) assert.equal(r.code, expected, `move ${JSON.stringify(c)}`);
                  if (r.code === status.OK && rows.has(id)) {
                    rows.set(id, { ...row, from, to });
                    movedTo.set(id, [...(movedTo.get(id) ?? []), { from, to }]);
                  }
                } else if (c.kind === "capacity") {
                  const fitsNew = peak(rows, 0, 200) <= Math.max(c.capacity, 1);
                  const r = await codeOf(put(c.capacity));
                  if (alone) {
                    assert.equal(r.code, fitsNew ? status.OK : status.FAILED_PRECONDITION);
                  }
                  if (r.code === status.OK) capacity = c.capacity;
                }
              }),
            );
            // The stored state is the model's: the acknowledged reservations, as moved.
            const stored = await t.app.db.query<{
              id: string;
              user_id: string;
              from: number;
              to: number;
              quantity: number;
            }>(
              `SELECT id, user_id, quantity,
                      (extract(epoch FROM lower(timespan) - '2030-01-01Z') / 1800)::int AS from,
                      (extract(epoch FROM upper(timespan) - '2030-01-01Z') / 1800)::int AS to
                 FROM rsvp.reservations WHERE resource_id = $1 AND status <> 'cancelled'`,
              [resourceId],
            );
            const [resource] = await t.app.db.query<{ capacity: number }>(
              "SELECT capacity FROM rsvp.resources WHERE id = $1",
              [resourceId],
            );
            const storedRows = new Map(
              stored.map((s) => [
                s.id,
                { user: s.user_id, from: s.from, to: s.to, quantity: s.quantity },
              ]),
            );
            // Two moves of one row in one step both succeed one after the other: the database
            // keeps the later one, which need not be the answer that arrived last.
            for (const [id, windows] of movedTo) {
              const kept = storedRows.get(id);
              const row = rows.get(id);
              if (windows.length < 2 || !kept || !row) continue;
              assert.ok(
                windows.some((w) => w.from === kept.from && w.to === kept.to),
                "a row moved twice at once keeps one of the two windows",
              );
              rows.set(id, { ...row, from: kept.from, to: kept.to });
            }
            assert.deepEqual(storedRows, rows);
            const cap = Math.max(resource?.capacity ?? 0, 1);
            assert.ok(peak(storedRows, 0, 200) <= cap, "never above the capacity");
            for (const r of storedRows.values()) {
              const sameDay = [...storedRows.values()].filter(
                (o) => o.user === r.user && day(o.from) === day(r.from),
              );
              assert.ok(sameDay.length <= QUOTA, "never above the quota");
            }
          }
        }),
        { numRuns: 12 },
      );
    });
  });
}
