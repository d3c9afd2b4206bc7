import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import type { ReserveRequest } from "../src/gen/reservation/reservation_pb.js";
import { backends, postgresBackends } from "./helpers/databases.js";
import { collect, hour } from "./helpers/fixtures.js";
import { collectListen } from "./helpers/listener.js";
import { failureOf } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor } from "./helpers/tokens.js";

type Item = Partial<Pick<ReserveRequest, "pool">> & {
  resourceId?: string;
  start: Timestamp;
  end: Timestamp;
};
const item = (it: Item) => ({
  pool: it.pool ?? "",
  reservation: { userId: "u", resourceId: it.resourceId ?? "", start: it.start, end: it.end },
});
const hours = (ts: { seconds: bigint } | undefined) =>
  ts ? Number(ts.seconds - (hour(0).seconds ?? 0n)) / 3600 : Number.NaN;

async function pool(t: TestServer, name: string, ids: string[], extra = {}) {
  for (const id of ids) await t.resources.putResource({ resource: { id, pool: name, ...extra } });
}

for (const backend of backends) {
  describe(`pools (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    it("reserves the first free resource of the pool in id order; none free is ALREADY_EXISTS", async () => {
      await pool(t, "doubles", ["room-2", "room-1", "room-3"]);
      const reserve = () =>
        t.client.reserve(item({ pool: "doubles", start: hour(24), end: hour(96) }));
      const made = [];
      for (let i = 0; i < 3; i++) made.push((await reserve()).reservation?.resourceId);
      assert.deepEqual(made, ["room-1", "room-2", "room-3"]);
      const f = await failureOf(reserve());
      assert.equal(f?.code, status.ALREADY_EXISTS);
      assert.match(f?.message ?? "", /no resource of pool "doubles" is free for/);
      assert.equal(f?.conflict?.resourceId, "room-1", "the detail names a clash on a member");
      // Another window of the same pool is free again.
      const later = await t.client.reserve(
        item({ pool: "doubles", start: hour(96), end: hour(120) }),
      );
      assert.equal(later.reservation?.resourceId, "room-1");
    });

    it("an empty pool is NOT_FOUND; a pool and a resource at once is INVALID_ARGUMENT", async () => {
      const empty = await failureOf(
        t.client.reserve(item({ pool: "nowhere", start: hour(1), end: hour(2) })),
      );
      assert.equal(empty?.code, status.NOT_FOUND);
      const both = await failureOf(
        t.client.reserve(
          item({ pool: "doubles", resourceId: "room-1", start: hour(1), end: hour(2) }),
        ),
      );
      assert.equal(both?.code, status.INVALID_ARGUMENT);
      const avail = await failureOf(
        t.client.available({ pool: "nowhere", start: hour(1), end: hour(2) }),
      );
      assert.equal(avail?.code, status.NOT_FOUND);
    });

    it("considers only the members whose rules the window meets, and their buffers", async () => {
      await t.resources.putResource({
        resource: { id: "lot-a-1", pool: "lot-a", rules: { minDuration: { seconds: 7200n } } },
      });
      await t.resources.putResource({
        resource: { id: "lot-a-2", pool: "lot-a", bufferAfter: { seconds: 1800n } },
      });
      const { reservation } = await t.client.reserve(
        item({ pool: "lot-a", start: hour(1), end: hour(2) }),
      );
      assert.equal(reservation?.resourceId, "lot-a-2", "lot-a-1 takes only 2h or more");
      // lot-a-2 keeps 30 minutes after: 2:00-3:00 does not fit there, and lot-a-1 refuses 1h.
      const f = await failureOf(
        t.client.reserve(item({ pool: "lot-a", start: hour(2), end: hour(3) })),
      );
      assert.equal(f?.code, status.ALREADY_EXISTS);
      // No member accepts a 10-minute window at all: that is the rule, named.
      await t.resources.putResource({
        resource: { id: "lot-a-2", pool: "lot-a", rules: { minDuration: { seconds: 3600n } } },
      });
      const rule = await failureOf(
        t.client.reserve(item({ pool: "lot-a", start: hour(5), end: hour(5.1) })),
      );
      assert.equal(rule?.code, status.FAILED_PRECONDITION);
      assert.match(rule?.message ?? "", /lot-a-1 needs reservations of at least 2h/);
    });

    it("available over a pool names each window's resource, by start then resource; each is reservable", async () => {
      await pool(t, "hotel", ["h-1", "h-2", "h-3"]);
      // Monday = hour(0). h-1 is taken Wed-Fri, h-2 Mon-Wed, h-3 all week.
      const day = (d: number) => hour(24 * d);
      await t.client.reserve(item({ resourceId: "h-1", start: day(2), end: day(4) }));
      await t.client.reserve(item({ resourceId: "h-2", start: day(0), end: day(2) }));
      await t.client.reserve(item({ resourceId: "h-3", start: day(0), end: day(5) }));
      const { windows } = await t.client.available({ pool: "hotel", start: day(0), end: day(5) });
      assert.deepEqual(
        windows.map((w) => [w.resourceId, hours(w.start) / 24, hours(w.end) / 24]),
        [
          ["h-1", 0, 2],
          ["h-2", 2, 5],
          ["h-1", 4, 5],
        ],
      );
      // A stay Mon-Fri is not free anywhere, even though the union of the windows covers it.
      const stay = await failureOf(
        t.client.reserve(item({ pool: "hotel", start: day(0), end: day(4) })),
      );
      assert.equal(stay?.code, status.ALREADY_EXISTS);
      for (const w of windows) {
        const { reservation } = await t.client.reserve(
          item({ resourceId: w.resourceId, start: w.start as Timestamp, end: w.end as Timestamp }),
        );
        assert.equal(reservation?.resourceId, w.resourceId);
      }
    });

    it("a pool reserve is idempotent by request_id", async () => {
      await pool(t, "idem", ["i-1", "i-2"]);
      const req = { ...item({ pool: "idem", start: hour(1), end: hour(2) }), requestId: "k-1" };
      const first = await t.client.reserve(req);
      const again = await t.client.reserve(req);
      assert.equal(again.reservation?.id, first.reservation?.id);
      const other = await failureOf(
        t.client.reserve({
          ...item({ pool: "idem", start: hour(3), end: hour(4) }),
          requestId: "k-1",
        }),
      );
      assert.equal(other?.code, status.INVALID_ARGUMENT);
    });
  });

  describe(`groups (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    it("reserves every item, in item order, under one group id that query and filter select by", async () => {
      const l = collectListen(t.client, { resourceId: "g-room" });
      await l.opened;
      const { reservations } = await t.client.reserveAll({
        items: [
          item({ resourceId: "g-room", start: hour(1), end: hour(2) }),
          item({ resourceId: "g-projector", start: hour(1), end: hour(2) }),
          item({ resourceId: "g-room", start: hour(3), end: hour(4) }),
        ],
      });
      assert.deepEqual(
        reservations.map((r) => [r.resourceId, hours(r.start)]),
        [
          ["g-room", 1],
          ["g-projector", 1],
          ["g-room", 3],
        ],
      );
      const groupId = reservations[0]?.groupId ?? "";
      assert.match(groupId, /^[0-9a-f-]{36}$/);
      assert.ok(reservations.every((r) => r.groupId === groupId));
      const queried = await collect(t.client.query({ groupId }));
      assert.deepEqual(queried.map((r) => r.id).sort(), reservations.map((r) => r.id).sort());
      const page = await t.client.filter({ groupId, pageSize: 2 });
      assert.equal(page.reservations.length, 2);
      assert.ok(page.reservations.every((r) => r.groupId === groupId));
      const plain = await t.client.reserve(
        item({ resourceId: "g-room", start: hour(5), end: hour(6) }),
      );
      assert.equal(plain.reservation?.groupId, "", "a single reservation has no group");
      // One create event per reservation of the group on this resource, one commit.
      const events = await l.waitFor(3);
      l.stop();
      assert.deepEqual(
        events.map((e) => e.reservation?.groupId),
        [groupId, groupId, ""],
      );
      // Made in one transaction: now() (created_at) is the transaction's start.
      assert.deepEqual(events[0]?.reservation?.createdAt, events[1]?.reservation?.createdAt);
    });

    it("all or nothing: one ReservationConflict per clashing item, with its position", async () => {
      await t.client.reserve(item({ resourceId: "busy-1", start: hour(10), end: hour(11) }));
      await t.client.reserve(item({ resourceId: "busy-2", start: hour(10), end: hour(11) }));
      const f = await failureOf(
        t.client.reserveAll({
          items: [
            item({ resourceId: "busy-1", start: hour(10), end: hour(11) }),
            item({ resourceId: "free-1", start: hour(10), end: hour(11) }),
            item({ resourceId: "busy-2", start: hour(10.5), end: hour(11.5) }),
          ],
        }),
      );
      assert.equal(f?.code, status.ALREADY_EXISTS);
      assert.match(f?.message ?? "", /item 0: .*busy-1.*; item 2: .*busy-2/);
      // The free item was not kept.
      const free = await collect(t.client.query({ resourceId: "free-1" }));
      assert.deepEqual(free, []);
    });

    it("the details carry each clashing item's position (Connect-independent, on the wire)", async () => {
      await t.client.reserve(item({ resourceId: "busy-3", start: hour(10), end: hour(11) }));
      try {
        await t.client.reserveAll({
          items: [
            item({ resourceId: "free-3", start: hour(10), end: hour(11) }),
            item({ resourceId: "busy-3", start: hour(10), end: hour(11) }),
          ],
        });
        assert.fail("expected a clash");
      } catch (err) {
        const f = await failureOf(Promise.reject(err));
        assert.equal(f?.conflict?.item, 1);
        assert.equal(f?.conflict?.resourceId, "busy-3");
      }
    });

    it("items of one pool and one window land on distinct resources; overlapping items clash", async () => {
      await pool(t, "lot-b", ["b-1", "b-2", "b-3"]);
      const spot = item({ pool: "lot-b", start: hour(8), end: hour(18) });
      const { reservations } = await t.client.reserveAll({ items: [spot, spot, spot] });
      assert.deepEqual(
        reservations.map((r) => r.resourceId),
        ["b-1", "b-2", "b-3"],
      );
      const fourth = await failureOf(t.client.reserveAll({ items: [spot] }));
      assert.equal(fourth?.code, status.ALREADY_EXISTS);
      const self = await failureOf(
        t.client.reserveAll({
          items: [
            item({ resourceId: "solo", start: hour(1), end: hour(3) }),
            item({ resourceId: "solo", start: hour(2), end: hour(4) }),
          ],
        }),
      );
      assert.equal(self?.code, status.ALREADY_EXISTS);
      assert.equal(self?.conflict?.item, 1);
    });

    it("a rule broken by any item fails the whole group with FAILED_PRECONDITION", async () => {
      await t.resources.putResource({
        resource: { id: "short-only", rules: { maxDuration: { seconds: 3600n } } },
      });
      const f = await failureOf(
        t.client.reserveAll({
          items: [
            item({ resourceId: "anything", start: hour(1), end: hour(2) }),
            item({ resourceId: "short-only", start: hour(1), end: hour(3) }),
          ],
        }),
      );
      assert.equal(f?.code, status.FAILED_PRECONDITION);
      assert.match(f?.message ?? "", /item 1: short-only takes reservations of at most 1h/);
      assert.deepEqual(await collect(t.client.query({ resourceId: "anything" })), []);
    });

    it("validates: 1-100 items, no per-item request_id; the group's request_id replays", async () => {
      assert.equal(
        (await failureOf(t.client.reserveAll({ items: [] })))?.code,
        status.INVALID_ARGUMENT,
      );
      const many = Array.from({ length: 101 }, (_, i) =>
        item({ resourceId: `many-${i}`, start: hour(1), end: hour(2) }),
      );
      assert.equal(
        (await failureOf(t.client.reserveAll({ items: many })))?.code,
        status.INVALID_ARGUMENT,
      );
      const keyed = { ...item({ resourceId: "k", start: hour(1), end: hour(2) }), requestId: "x" };
      assert.equal(
        (await failureOf(t.client.reserveAll({ items: [keyed] })))?.code,
        status.INVALID_ARGUMENT,
      );
      const req = {
        items: [
          item({ resourceId: "idem-a", start: hour(1), end: hour(2) }),
          item({ resourceId: "idem-b", start: hour(1), end: hour(2) }),
        ],
        requestId: "group-1",
      };
      const first = await t.client.reserveAll(req);
      const again = await t.client.reserveAll(req);
      assert.deepEqual(
        again.reservations.map((r) => r.id),
        first.reservations.map((r) => r.id),
      );
    });
  });
}

for (const backend of postgresBackends) {
  describe(`pool and group racers (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.close());

    for (const [racers, free] of [
      [8, 3],
      [2, 3],
      [5, 5],
    ] as const) {
      it(`${racers} racers for ${free} free resources: ${Math.min(racers, free)} winners on distinct resources`, async () => {
        const name = `race-${racers}-${free}`;
        // Five members; those beyond `free` are taken beforehand.
        const ids = Array.from({ length: 5 }, (_, i) => `${name}-${i}`);
        await pool(t, name, ids);
        for (const id of ids.slice(free)) {
          await t.client.reserve(item({ resourceId: id, start: hour(1), end: hour(2) }));
        }
        const results = await Promise.all(
          Array.from({ length: racers }, () =>
            failureOf(t.client.reserve(item({ pool: name, start: hour(1), end: hour(2) }))),
          ),
        );
        const lost = results.filter((f) => f !== undefined);
        assert.ok(
          lost.every((f) => f.code === status.ALREADY_EXISTS),
          lost.map((f) => `${f.code} ${f.message}`).join("\n"),
        );
        assert.equal(racers - lost.length, Math.min(racers, free));
        const live = await collect(t.client.query({ start: hour(1), end: hour(2) }));
        const won = live
          .filter((r) => r.resourceId.startsWith(`${name}-`))
          .map((r) => r.resourceId);
        assert.equal(new Set(won).size, won.length, "never two on one resource");
        assert.equal(won.length, Math.min(racers, free) + (5 - free));
      });
    }

    it("groups racing over the same resources in opposite orders never deadlock: one wins each round", async () => {
      for (let round = 0; round < 10; round++) {
        const a = `opp-${round}-a`;
        const b = `opp-${round}-b`;
        const forward = [a, b].map((id) => item({ resourceId: id, start: hour(1), end: hour(2) }));
        const backward = [...forward].reverse();
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            failureOf(
              t.client.reserveAll(
                { items: i % 2 === 0 ? forward : backward },
                { deadlineMs: 10_000 },
              ),
            ),
          ),
        );
        const lost = results.filter((f) => f !== undefined);
        assert.equal(lost.length, 5, `round ${round}: exactly one group wins`);
        assert.ok(
          lost.every((f) => f.code === status.ALREADY_EXISTS),
          `round ${round}: ${JSON.stringify(lost.map((f) => [f.code, f.message]))}`,
        );
      }
    });
  });
}

for (const backend of backends) {
  describe(`groups and series under authentication (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
    });
    after(() => t.close());

    it("a user books groups and series for itself only; clashes shown to it name no one", async () => {
      const admin = { metadata: { authorization: `Bearer ${await tokenFor("root", "admin")}` } };
      const alice = { metadata: { authorization: `Bearer ${await tokenFor("alice", "user")}` } };
      await t.client.reserve(
        { reservation: { userId: "bob", resourceId: "auth-room", start: hour(1), end: hour(2) } },
        admin,
      );
      const forBob = await failureOf(
        t.client.reserveAll(
          {
            items: [
              {
                reservation: {
                  userId: "bob",
                  resourceId: "auth-desk",
                  start: hour(1),
                  end: hour(2),
                },
              },
            ],
          },
          alice,
        ),
      );
      assert.equal(forBob?.code, status.PERMISSION_DENIED);
      const series = await failureOf(
        t.client.reserveSeries(
          {
            first: {
              reservation: { userId: "bob", resourceId: "auth-desk", start: hour(1), end: hour(2) },
            },
            rrule: "FREQ=DAILY;COUNT=2",
          },
          alice,
        ),
      );
      assert.equal(series?.code, status.PERMISSION_DENIED);
      const clash = await failureOf(
        t.client.reserveAll(
          {
            items: [
              { reservation: { resourceId: "auth-desk", start: hour(1), end: hour(2) } },
              { reservation: { resourceId: "auth-room", start: hour(1), end: hour(2) } },
            ],
          },
          alice,
        ),
      );
      assert.equal(clash?.code, status.ALREADY_EXISTS);
      assert.doesNotMatch(clash?.message ?? "", /bob/);
      const { reservations } = await t.client.reserveAll(
        { items: [{ reservation: { resourceId: "auth-desk", start: hour(1), end: hour(2) } }] },
        alice,
      );
      assert.equal(reservations[0]?.userId, "alice", "an empty user_id is the caller itself");
    });
  });
}
