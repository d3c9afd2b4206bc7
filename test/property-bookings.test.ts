import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { RpcError } from "../src/client/grpc-client.js";
import type { Reservation } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { collect, hour } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

// Times are whole minutes from 2030-01-01T00:00Z. Three pool members with their own buffers
// (minutes before, after), and one resource never registered (index 3).
const MEMBERS = [
  { before: 0, after: 60 },
  { before: 30, after: 0 },
  { before: 15, after: 15 },
] as const;
const PLAIN = 3;
const DAY = 24 * 60;

interface Row {
  id: string;
  resource: number;
  /** What it occupies: its window widened by its resource's buffers. */
  from: number;
  to: number;
  live: boolean;
}

type Target = { resource: number } | { pool: true };
type Item = { target: Target; from: number; len: number };
type Command =
  | { kind: "reserve"; item: Item }
  | { kind: "group"; items: Item[] }
  | { kind: "cancel"; pick: number }
  | { kind: "available" };

const item: fc.Arbitrary<Item> = fc.record({
  target: fc.oneof(
    fc.record({ resource: fc.integer({ min: 0, max: PLAIN }) }),
    fc.constant({ pool: true as const }),
  ),
  from: fc.integer({ min: 0, max: 40 }).map((n) => n * 30),
  len: fc.integer({ min: 1, max: 8 }).map((n) => n * 30),
});
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("reserve" as const), item }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("group" as const),
      items: fc.array(item, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("available" as const) }) },
);

const buffersOf = (resource: number) => MEMBERS[resource] ?? { before: 0, after: 0 };
const occupies = (resource: number, from: number, to: number) => ({
  from: from - buffersOf(resource).before,
  to: to + buffersOf(resource).after,
});
const at = (minutes: number) => hour(minutes / 60);
const minutesOf = (t: { seconds: bigint } | undefined) =>
  Number((t?.seconds ?? 0n) - (hour(0).seconds ?? 0n)) / 60;

/** Whether the model has room for [from, from + len) on `resource`. */
function fits(rows: readonly Row[], resource: number, from: number, len: number) {
  const o = occupies(resource, from, from + len);
  return !rows.some((r) => r.live && r.resource === resource && r.from < o.to && o.from < r.to);
}

/** Where the model puts an item: its resource, the first free pool member, or nowhere. */
function place(rows: readonly Row[], it: Item): number | undefined {
  const candidates = "pool" in it.target ? [0, 1, 2] : [it.target.resource];
  return candidates.find((r) => fits(rows, r, it.from, it.len));
}

/** The model's free windows of a member within one day: where a new reservation fits. */
function freeWindows(rows: readonly Row[], resource: number): Array<[number, number]> {
  const { before, after } = buffersOf(resource);
  const blocked = rows
    .filter((r) => r.live && r.resource === resource)
    .map((r) => [r.from - after, r.to + before] as const)
    .sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  let cursor = 0;
  for (const [s, e] of blocked) {
    if (s > cursor) out.push([cursor, Math.min(s, DAY)]);
    cursor = Math.max(cursor, e);
    if (cursor >= DAY) break;
  }
  if (cursor < DAY) out.push([cursor, DAY]);
  return out.filter(([s, e]) => s < e);
}

for (const backend of backends) {
  describe(`model-based property: pools, buffers, groups (${backend.name})`, () => {
    let t: TestServer;
    let run = 0;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    it("random sequences agree with a model and never overlap a widened window", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
          const p = `pb${run++}`;
          const names = [0, 1, 2, PLAIN].map((i) => `${p}-r${i}`);
          for (const [i, b] of MEMBERS.entries()) {
            await t.resources.putResource({
              resource: {
                id: names[i] ?? "",
                pool: p,
                bufferBefore: { seconds: BigInt(b.before * 60) },
                bufferAfter: { seconds: BigInt(b.after * 60) },
              },
            });
          }
          const request = (it: Item) => ({
            pool: "pool" in it.target ? p : "",
            reservation: {
              userId: "u",
              resourceId: "pool" in it.target ? "" : (names[it.target.resource] ?? ""),
              start: at(it.from),
              end: at(it.from + it.len),
            },
          });
          const record = (rows: Row[], r: Reservation | undefined, it: Item) => {
            assert.ok(r);
            const resource = names.indexOf(r.resourceId);
            assert.ok(resource >= 0, r.resourceId);
            rows.push({
              id: r.id,
              resource,
              ...occupies(resource, it.from, it.from + it.len),
              live: true,
            });
          };
          const rows: Row[] = [];
          for (const c of commands) {
            if (c.kind === "reserve") {
              const expected = place(rows, c.item);
              const res = await t.client.reserve(request(c.item)).catch((e: unknown) => e);
              if (expected === undefined) {
                assert.ok(
                  res instanceof RpcError && res.code === status.ALREADY_EXISTS,
                  String(res),
                );
              } else {
                assert.ok(!(res instanceof Error), String(res));
                const r = (res as { reservation?: Reservation }).reservation;
                assert.equal(r?.resourceId, names[expected]);
                record(rows, r, c.item);
              }
            } else if (c.kind === "group") {
              // Items go in one after another, each seeing the ones before it.
              const trial = rows.map((r) => ({ ...r }));
              const clashing: number[] = [];
              const placed: number[] = [];
              for (const [i, it] of c.items.entries()) {
                const where = place(trial, it);
                if (where === undefined) clashing.push(i);
                else {
                  placed.push(where);
                  trial.push({
                    id: `trial-${i}`,
                    resource: where,
                    ...occupies(where, it.from, it.from + it.len),
                    live: true,
                  });
                }
              }
              const res = await t.client
                .reserveAll({ items: c.items.map(request) })
                .catch((e: unknown) => e);
              if (clashing.length > 0) {
                assert.ok(
                  res instanceof RpcError && res.code === status.ALREADY_EXISTS,
                  String(res),
                );
                assert.equal(res.conflict?.item, clashing[0]);
                const items = [...res.message.matchAll(/item (\d+):/g)].map((m) => Number(m[1]));
                assert.deepEqual(items, clashing);
              } else {
                assert.ok(!(res instanceof Error), String(res));
                const made = (res as { reservations: Reservation[] }).reservations;
                assert.deepEqual(
                  made.map((r) => r.resourceId),
                  placed.map((i) => names[i]),
                );
                for (const [i, r] of made.entries()) record(rows, r, c.items[i] as Item);
              }
            } else if (c.kind === "cancel") {
              const row = rows[c.pick % Math.max(rows.length, 1)];
              if (!row) continue;
              await t.client.cancel({ id: row.id });
              row.live = false;
            } else {
              const { windows } = await t.client.available({ pool: p, start: at(0), end: at(DAY) });
              const got = windows.map((w) => [
                names.indexOf(w.resourceId),
                minutesOf(w.start),
                minutesOf(w.end),
              ]);
              const expected = [0, 1, 2]
                .flatMap((m) => freeWindows(rows, m).map(([s, e]) => [m, s, e]))
                .sort((a, b) => (a[1] ?? 0) - (b[1] ?? 0) || (a[0] ?? 0) - (b[0] ?? 0));
              assert.deepEqual(got, expected);
            }
          }
          // The stored live set equals the model's.
          const stored = (
            await Promise.all(names.map((n) => collect(t.client.query({ resourceId: n }))))
          ).flat();
          assert.deepEqual(
            stored.map((r) => r.id).sort(),
            rows
              .filter((r) => r.live)
              .map((r) => r.id)
              .sort(),
          );
        }),
        { numRuns: 20 },
      );
      // Stored: every occupied span is the window widened by its resource's buffers, and no two
      // live ones of a resource overlap.
      const [bad] = await t.app.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM rsvp.reservations a JOIN rsvp.reservations b
           ON a.resource_id = b.resource_id AND a.id < b.id AND a.occupied && b.occupied
          WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'`,
      );
      assert.equal(bad?.n, 0);
      const [wrong] = await t.app.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM rsvp.reservations AS x
          WHERE x.occupied <> rsvp.widened(x.resource_id, x.timespan)`,
      );
      assert.equal(wrong?.n, 0);
    });
  });
}
