import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { RpcError } from "../src/client/grpc-client.js";
import {
  ReservationUpdateType as Op,
  ReservationStatus as S,
} from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { collect, hour, rejectsWith } from "./helpers/fixtures.js";
import { collectListen } from "./helpers/listener.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

for (const backend of backends) {
  describe(`listen (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, { pollIntervalMs: 0 });
    });
    after(() => t.close());

    it("streams create, update (confirm, note) and delete (cancel) with the new state, in order", async () => {
      const l = collectListen(t.client, { resourceId: "life" });
      await l.opened;
      const { reservation } = await t.client.reserve({
        reservation: { userId: "ann", resourceId: "life", start: hour(1), end: hour(2) },
      });
      const id = reservation?.id ?? "";
      await t.client.confirm({ id });
      await t.client.update({ id, note: "bring slides" });
      await t.client.update({ id, note: "bring slides" }); // no change, no event
      await t.client.cancel({ id });
      const events = await l.waitFor(4);
      l.stop();
      assert.deepEqual(
        events.map((e) => e.op),
        [Op.CREATE, Op.UPDATE, Op.UPDATE, Op.DELETE],
      );
      assert.deepEqual(
        events.map((e) => e.reservation?.status),
        [S.PENDING, S.CONFIRMED, S.CONFIRMED, S.CANCELLED],
      );
      assert.equal(events[2]?.reservation?.note, "bring slides");
      assert.ok(events.every((e) => e.reservation?.id === id && e.cursor !== "" && e.committedAt));
      assert.equal(new Set(events.map((e) => e.cursor)).size, 4, "each event has its own cursor");
    });

    it("filters by resource and user", async () => {
      const byRes = collectListen(t.client, { resourceId: "f-1" });
      const byUser = collectListen(t.client, { userId: "f-bob" });
      await Promise.all([byRes.opened, byUser.opened]);
      const mk = (resourceId: string, userId: string, h: number) =>
        t.client.reserve({ reservation: { userId, resourceId, start: hour(h), end: hour(h + 1) } });
      await mk("f-1", "f-ann", 1);
      await mk("f-2", "f-bob", 1);
      await mk("f-1", "f-bob", 2);
      const r = await byRes.waitFor(2);
      const u = await byUser.waitFor(2);
      byRes.stop();
      byUser.stop();
      assert.deepEqual(
        r.map((e) => e.reservation?.userId),
        ["f-ann", "f-bob"],
      );
      assert.deepEqual(
        u.map((e) => e.reservation?.resourceId),
        ["f-2", "f-1"],
      );
    });

    it("resumes from a cursor: exactly the missed events, then live ones", async () => {
      const first = collectListen(t.client, { resourceId: "resume" });
      await first.opened;
      const mk = (h: number) =>
        t.client.reserve({
          reservation: { userId: "u", resourceId: "resume", start: hour(h), end: hour(h + 1) },
        });
      await mk(1);
      await mk(2);
      const [e1] = await first.waitFor(2);
      first.stop();
      await mk(3); // missed while disconnected
      await mk(4);
      const second = collectListen(t.client, { resourceId: "resume", cursor: e1?.cursor ?? "" });
      await second.opened;
      await mk(5); // live
      const got = await second.waitFor(4);
      second.stop();
      assert.deepEqual(
        got.map((e) => e.reservation?.start?.seconds),
        [2, 3, 4, 5].map((h) => hour(h).seconds),
      );
    });

    it("a cursor older than the retained history is OUT_OF_RANGE; a forged one INVALID_ARGUMENT", async () => {
      const l = collectListen(t.client, { resourceId: "old" });
      await l.opened;
      await t.client.reserve({
        reservation: { userId: "u", resourceId: "old", start: hour(1), end: hour(2) },
      });
      await t.client.reserve({
        reservation: { userId: "u", resourceId: "old", start: hour(2), end: hour(3) },
      });
      const [e1] = await l.waitFor(2);
      l.stop();
      await t.app.db.query("SELECT rsvp.prune_changes('0 seconds', 100000)");
      const err = await rejectsWith(
        collect(t.client.listen({ cursor: e1?.cursor ?? "" })),
        status.OUT_OF_RANGE,
      );
      assert.match(err.message, /re-?query|query the current state/i);
      for (const cursor of [
        "garbage",
        Buffer.from("v2.1.1").toString("base64url"),
        Buffer.from("v1.1.1 ").toString("base64url"),
      ]) {
        await rejectsWith(collect(t.client.listen({ cursor })), status.INVALID_ARGUMENT);
      }
      await rejectsWith(
        collect(t.client.listen({ resourceId: "x".repeat(65) })),
        status.INVALID_ARGUMENT,
      );
      assert.ok(err instanceof RpcError);
    });
  });
}
