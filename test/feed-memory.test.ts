import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type Change,
  type ChangeFilter,
  comparePositions,
  matchesFilter,
  type Position,
} from "../src/domain/change.js";
import { RecentChanges } from "../src/server/feed/recent-changes.js";
import { type Subscriber, SubscriberIndex } from "../src/server/feed/subscribers.js";

// The change feed's in-memory parts, tested directly against a plain model: the index that
// picks the listeners of a change, and the buffer slow listeners catch up from.

const RESOURCES = ["r1", "r2", "r3"];
const USERS = ["u1", "u2"];

const at = (seq: number): Position => ({ xid: 10n, seq: BigInt(seq) });

function change(seq: number, resourceId: string, userId: string): Change {
  return {
    position: at(seq),
    op: "create",
    committedAt: 0n,
    reservation: {
      id: `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
      userId,
      resourceId,
      status: "pending",
      quantity: 1,
      note: "",
      start: 0n,
      end: 1n,
      expiresAt: undefined,
      createdAt: 0n,
      updatedAt: 0n,
    },
  };
}

const filterArb: fc.Arbitrary<ChangeFilter> = fc.record(
  {
    resourceId: fc.constantFrom(...RESOURCES),
    userId: fc.constantFrom(...USERS),
  },
  { requiredKeys: [] },
);
const changeArb = fc
  .tuple(fc.constantFrom(...RESOURCES), fc.constantFrom(...USERS))
  .map(([r, u]) => ({ r, u }));

const subscriber = (filter: ChangeFilter): Subscriber => ({
  filter,
  queue: [],
  detached: false,
  pos: at(0),
  wake: () => {},
});

describe("SubscriberIndex", () => {
  it("calls exactly the live subscribers whose filter a change passes, each once", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(filterArb, fc.boolean()), { maxLength: 12 }),
        fc.array(changeArb, { minLength: 1, maxLength: 8 }),
        (specs, changes) => {
          const index = new SubscriberIndex();
          const subs = specs.map(([filter]) => subscriber(filter));
          for (const sub of subs) index.add(sub);
          for (const sub of subs) index.add(sub); // adding twice changes nothing
          // Some leave again; the model is what stays.
          const live = subs.filter((sub, i) => {
            if (specs[i]?.[1]) return true;
            index.delete(sub);
            return false;
          });
          assert.equal(index.size, live.length);
          assert.deepEqual(new Set(index.all()), new Set(live));
          changes.forEach(({ r, u }, i) => {
            const c = change(i + 1, r, u);
            const called: Subscriber[] = [];
            index.forEachMatch(c, (sub) => called.push(sub));
            const expected = live.filter((s) => matchesFilter(c, s.filter));
            assert.equal(new Set(called).size, called.length, "no subscriber called twice");
            assert.deepEqual(new Set(called), new Set(expected));
          });
        },
      ),
    );
  });

  it("forgets empty buckets and lists every live subscriber once", () => {
    const index = new SubscriberIndex();
    const a = subscriber({ resourceId: "r1" });
    const b = subscriber({ userId: "u1" });
    const c = subscriber({});
    for (const s of [a, b, c]) index.add(s);
    assert.deepEqual(new Set(index.all()), new Set([a, b, c]));
    index.delete(a);
    index.delete(a);
    assert.equal(index.size, 2);
    const called: Subscriber[] = [];
    index.forEachMatch(change(1, "r1", "u2"), (s) => called.push(s));
    assert.deepEqual(called, [c]);
  });
});

describe("RecentChanges", () => {
  it("answers like a full history while `after` is inside what it holds, else undefined", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(changeArb, { maxLength: 30 }),
        fc.nat(35),
        filterArb,
        fc.integer({ min: 1, max: 5 }),
        (capacity, pushed, afterSeq, filter, limit) => {
          const recent = new RecentChanges(capacity, at(0));
          const history = pushed.map(({ r, u }, i) => change(i + 1, r, u));
          for (const c of history) recent.push(c);
          const answer = recent.after(at(afterSeq), filter, limit);
          // It holds at least the last `capacity` changes, and never more than twice that.
          const oldestKept = Math.max(0, history.length - 2 * capacity + 1);
          if (afterSeq >= history.length - capacity) assert.notEqual(answer, undefined);
          if (afterSeq < oldestKept) assert.equal(answer, undefined);
          if (!answer) return;
          const model = history.filter(
            (c) => comparePositions(c.position, at(afterSeq)) > 0 && matchesFilter(c, filter),
          );
          assert.deepEqual(answer.changes, model.slice(0, limit));
          if (model.length >= limit) assert.deepEqual(answer.readTo, model[limit - 1]?.position);
          else assert.equal(answer.readTo, undefined, "read to the newest change");
        },
      ),
    );
  });

  it("starts over empty at a reset position", () => {
    const recent = new RecentChanges(4, at(0));
    recent.push(change(1, "r1", "u1"));
    recent.reset(at(5));
    assert.equal(recent.after(at(4), {}, 10), undefined, "older than the reset");
    assert.deepEqual(recent.after(at(5), {}, 10), { changes: [], readTo: undefined });
  });
});
