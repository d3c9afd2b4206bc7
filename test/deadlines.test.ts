import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HandlerContext } from "@connectrpc/connect";
import type { Db } from "../src/db/engine/db.js";
import { migrate } from "../src/db/engine/migrate.js";
import { openDb } from "../src/db/engine/open.js";
import { reserveGroup } from "../src/db/store/groups.js";
import { createReserveBatcher } from "../src/db/store/reserve-batcher.js";
import { Code, RsvpError } from "../src/domain/errors.js";
import type { NewReservation } from "../src/domain/reservation.js";
import { ReservationService } from "../src/gen/reservation/reservation_pb.js";
import { withDeadlines } from "../src/server/service/deadline.js";
import { backends, type TestDatabase } from "./helpers/databases.js";

const HOUR = 3_600_000_000n;
const request = (resourceId: string, h: number): NewReservation => ({
  userId: "u",
  resourceId,
  status: "pending",
  start: 1_900_000_000_000_000n + BigInt(h) * HOUR,
  end: 1_900_000_000_000_000n + BigInt(h + 1) * HOUR,
  note: "",
});

const isDeadlineExceeded = (err: unknown) =>
  err instanceof RsvpError && err.code === Code.DeadlineExceeded;

/** Spins the event loop's thread until `ms` have passed: no timer can fire meanwhile. */
function blockFor(ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: a statement of the embedded database holds the thread the same way
  }
}

for (const backend of backends) {
  describe(`a request past its deadline is never written (${backend.name})`, () => {
    let database: TestDatabase;
    let db: Db;
    before(async () => {
      database = await backend.create();
      db = await openDb(database.target);
      await migrate(db);
    });
    after(async () => {
      await db.close();
      await database.drop();
    });
    const stored = async (resourceId: string) =>
      (await db.query("SELECT 1 FROM rsvp.reservations WHERE resource_id = $1", [resourceId]))
        .length;

    it("reserve: queued past its deadline, with its timer not yet fired, it is never sent", async () => {
      const batcher = createReserveBatcher(db);
      // No signal: its deadline's timer has not fired (a busy event loop), only the clock says so.
      await assert.rejects(
        batcher.reserve(request("late-one", 1), undefined, Date.now() - 1),
        isDeadlineExceeded,
      );
      const inTime = await batcher.reserve(request("late-one", 2), undefined, Date.now() + 60_000);
      assert.equal(inTime.kind, "created");
      assert.equal(await stored("late-one"), 1, "only the request still in time");
    });

    it("a group or pool reserve past its deadline is never sent", async () => {
      await assert.rejects(
        reserveGroup(db, [request("late-group", 1)], { userId: "u", deadline: Date.now() - 1 }),
        isDeadlineExceeded,
      );
      assert.equal(await stored("late-group"), 0);
    });
  });
}

describe("answers kept to their deadlines", () => {
  const ctxWithin = (ms: number | undefined) => {
    const deadline = ms === undefined ? undefined : Date.now() + ms;
    return {
      timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    } as unknown as HandlerContext;
  };
  const service = (work: () => void) =>
    withDeadlines(ReservationService, {
      async get() {
        work();
        return {};
      },
    } as never) as unknown as { get(req: unknown, ctx: HandlerContext): Promise<unknown> };

  it("a result ready only after the deadline is DEADLINE_EXCEEDED, not a late OK", async () => {
    const late = service(() => blockFor(60));
    await assert.rejects(late.get({}, ctxWithin(20)), isDeadlineExceeded);
  });

  it("a result within the deadline, or a call without one, is answered", async () => {
    const quick = service(() => {});
    assert.deepEqual(await quick.get({}, ctxWithin(60_000)), {});
    const slow = service(() => blockFor(30));
    assert.deepEqual(await slow.get({}, ctxWithin(undefined)), {});
  });
});
