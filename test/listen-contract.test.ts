import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { status } from "@grpc/grpc-js";
import { RpcError, type RsvpClient } from "../src/client/grpc-client.js";
import { comparePositions } from "../src/domain/change.js";
import {
  type ListenResponse,
  ReservationUpdateType as Op,
  ReservationService,
  ReservationStatus as S,
} from "../src/gen/reservation/reservation_pb.js";
import { createSecrets } from "../src/server/service/secrets.js";
import { cursorAt } from "./helpers/cursors.js";
import { backends } from "./helpers/databases.js";
import { collect, hour, rejectsWith } from "./helpers/fixtures.js";
import { eventually } from "./helpers/harness.js";
import { collectListen } from "./helpers/listener.js";
import { connectTransport } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor, withToken } from "./helpers/tokens.js";

const reserveAt = (client: RsvpClient, resourceId: string, h: number, userId = "u") =>
  client.reserve({ reservation: { userId, resourceId, start: hour(h), end: hour(h + 1) } });

const changesOnly = (events: ListenResponse[]) => events.filter((e) => e.op !== Op.BOOKMARK);

// What a listener is promised: every change after its start, filtered, in order, with cursors
// to resume from; headers mean live; list-then-watch hands over without a gap.
for (const backend of backends) {
  describe(`change feed (${backend.name})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, { maxQueue: 5 }, { bookmarkSeconds: 0.05 });
    });
    after(() => t.close());

    it("refuses forged, edited, foreign-database and future cursors; a pruned one is OUT_OF_RANGE", async () => {
      const l = collectListen(t.client, { resourceId: "cur" });
      await l.opened;
      await reserveAt(t.client, "cur", 1);
      await reserveAt(t.client, "cur", 2);
      const [first] = await l.waitFor(2);
      l.stop();
      const real = first?.cursor ?? "";
      const [body = "", mac = ""] = real.split(".");
      const text = Buffer.from(body, "base64url").toString();
      const edited = `${Buffer.from(text.replace(/\d$/, (d) => String((Number(d) + 1) % 10))).toString("base64url")}.${mac}`;
      const other = await startTestServer(backend);
      let foreign: string;
      try {
        foreign = (await other.client.filter({ resourceId: "x" })).cursor;
      } finally {
        await other.close();
      }
      const future = await cursorAt(t.app, { xid: 2n ** 40n, seq: 1n });
      for (const [what, cursor] of Object.entries({
        garbage: "garbage",
        edited,
        forged: `${body}.${Buffer.alloc(16).toString("base64url")}`,
        oldFormat: Buffer.from("v1.1.1").toString("base64url"),
        foreign,
        future,
      })) {
        const err = await rejectsWith(
          collect(t.client.listen({ cursor })),
          status.INVALID_ARGUMENT,
        ).catch((e: unknown) => assert.fail(`${what}: ${String(e)}`));
        if (what === "foreign") assert.match(err.message, /another database/);
      }
      // The real one works until its history is pruned.
      const resumed = collectListen(t.client, { resourceId: "cur", cursor: real });
      assert.equal((await resumed.waitFor(1))[0]?.reservation?.start?.seconds, hour(2).seconds);
      resumed.stop();
      await t.app.db.query("SELECT rsvp.prune_changes('0 seconds', 100000)");
      await rejectsWith(collect(t.client.listen({ cursor: real })), status.OUT_OF_RANGE);
    });

    it("headers received means live: every change after them is delivered, on gRPC and Connect", async () => {
      const connect = createClient(ReservationService, connectTransport(t.app.httpAddress));
      for (let round = 0; round < 10; round++) {
        const resourceId = `live-${round}`;
        const l = collectListen(t.client, { resourceId });
        const headers = await l.opened;
        assert.ok(headers["rsvp-cursor"], "the headers carry the starting cursor");
        // Connect sends headers with the first message: the first bookmark, asked for here.
        const abort = new AbortController();
        const viaConnect = connect
          .listen(
            { resourceId, bookmarks: true },
            { signal: abort.signal, onHeader: (h) => assert.ok(h.get("rsvp-cursor")) },
          )
          [Symbol.asyncIterator]();
        const firstConnect = await viaConnect.next();
        assert.equal(firstConnect.value?.op, Op.BOOKMARK);
        await reserveAt(t.client, resourceId, 1);
        assert.equal((await l.waitFor(1))[0]?.op, Op.CREATE);
        let next = await viaConnect.next();
        while (next.value?.op === Op.BOOKMARK) next = await viaConnect.next();
        assert.equal(next.value?.op, Op.CREATE);
        l.stop();
        abort.abort();
      }
    });

    it("bookmarks keep a quiet filtered listener's cursor fresh, and resuming from one survives pruning", async () => {
      const quiet = collectListen(t.client, { resourceId: "quiet", bookmarks: true });
      await quiet.opened;
      const [start] = await quiet.waitFor(1);
      assert.equal(start?.op, Op.BOOKMARK);
      const busy = collectListen(t.client, { resourceId: "busy" });
      await busy.opened;
      await reserveAt(t.client, "busy", 1);
      await reserveAt(t.client, "busy", 2);
      const [, last] = await busy.waitFor(2);
      busy.stop();
      // A bookmark at or past the last change, so pruning everything up to it leaves it valid.
      const cursors = await createSecrets(t.app.db).cursors();
      const lastPosition = cursors.decode(last?.cursor ?? "");
      const fresher = await eventually(
        () =>
          quiet.events.find(
            (e) =>
              e.op === Op.BOOKMARK && comparePositions(cursors.decode(e.cursor), lastPosition) >= 0,
          ),
        "a bookmark past the last change",
      );
      assert.equal(changesOnly(quiet.events).length, 0, "no change of another resource");
      quiet.stop();
      await t.app.db.query("SELECT rsvp.prune_changes('0 seconds', 100000)");
      const resumed = collectListen(t.client, { resourceId: "quiet", cursor: fresher.cursor });
      await resumed.opened;
      await reserveAt(t.client, "quiet", 3);
      assert.equal((await resumed.waitFor(1))[0]?.reservation?.resourceId, "quiet");
      resumed.stop();
      // Without asking, no bookmark is ever sent.
      const plain = collectListen(t.client, { resourceId: "plain" });
      await plain.opened;
      await reserveAt(t.client, "plain", 1);
      await reserveAt(t.client, "plain", 2);
      assert.deepEqual(
        (await plain.waitFor(2)).map((e) => e.op),
        [Op.CREATE, Op.CREATE],
      );
      plain.stop();
    });

    it("list, then watch: every acknowledged reservation is in the page or the stream", async () => {
      const writers = 8;
      for (let round = 0; round < 20; round++) {
        const userId = `lw-${round}`;
        const resourceIds = Array.from({ length: writers }, (_, w) => `lw-${round}-${w}`);
        const acked = new Set<string>();
        let listed: { ids: Set<string>; cursor: string } | undefined;
        const write = async (w: number) => {
          for (let h = 0; h < 6; h++) {
            const r = await reserveAt(t.client, resourceIds[w] ?? "", h, userId);
            acked.add(r.reservation?.id ?? "");
            if (w === 0 && h === 2) {
              const page = await t.client.filter({ userId, pageSize: 500 });
              listed = { ids: new Set(page.reservations.map((x) => x.id)), cursor: page.cursor };
            }
          }
        };
        await Promise.all(resourceIds.map((_, w) => write(w)));
        assert.ok(listed);
        const missing = [...acked].filter((id) => !listed?.ids.has(id));
        const l = collectListen(t.client, { userId, cursor: listed.cursor });
        const ended = l.ended.then((err) => {
          throw new Error(`the stream ended: ${String(err)}`);
        });
        await Promise.race([
          ended,
          eventually(() => {
            const heard = new Set(l.events.map((e) => e.reservation?.id));
            return missing.every((id) => heard.has(id));
          }, `round ${round}: ${missing.length} reservations the page missed, heard`),
        ]);
        l.stop();
      }
    });

    it("query hands over the same way: its rsvp-cursor header is taken before its rows", async () => {
      await reserveAt(t.client, "handover", 1);
      const stream = t.client.query({ resourceId: "handover" });
      const headers = await stream.opened;
      const rows = await collect(stream);
      assert.equal(rows.length, 1);
      const cursor = headers["rsvp-cursor"] ?? "";
      await reserveAt(t.client, "handover", 2);
      const l = collectListen(t.client, { resourceId: "handover", cursor });
      const [event] = await l.waitFor(1);
      l.stop();
      assert.equal(event?.reservation?.start?.seconds, hour(2).seconds);
    });
  });
}

describe("change feed with authentication", () => {
  let t: TestServer;
  before(async () => {
    const [embedded] = backends;
    if (!embedded) throw new Error("no embedded backend");
    t = await startTestServer(embedded, undefined, { auth: TEST_AUTH });
  });
  after(() => t.close());

  it("headers received means live for an authenticated listener too", async () => {
    const token = await tokenFor("alice", "user");
    for (let round = 0; round < 10; round++) {
      const resourceId = `auth-live-${round}`;
      const stream = t.client.listen({ resourceId }, withToken(token));
      const it = stream[Symbol.asyncIterator]();
      const headers = await stream.opened;
      assert.ok(headers["rsvp-cursor"]);
      await t.client.reserve(
        { reservation: { userId: "alice", resourceId, start: hour(1), end: hour(2) } },
        withToken(token),
      );
      assert.equal((await it.next()).value?.op, Op.CREATE);
      stream.cancel();
    }
  });

  it("and over Connect: the first message (a bookmark) carries the headers, live from there", async () => {
    const token = await tokenFor("alice", "user");
    const connect = createClient(ReservationService, connectTransport(t.app.httpAddress));
    const headers = { authorization: `Bearer ${token}` };
    for (let round = 0; round < 5; round++) {
      const resourceId = `auth-connect-live-${round}`;
      const abort = new AbortController();
      let cursor: string | null = null;
      const events = connect
        .listen(
          { resourceId, bookmarks: true },
          { headers, signal: abort.signal, onHeader: (h) => (cursor = h.get("rsvp-cursor")) },
        )
        [Symbol.asyncIterator]();
      assert.equal((await events.next()).value?.op, Op.BOOKMARK);
      assert.ok(cursor, "the headers carry the starting cursor");
      await t.client.reserve(
        { reservation: { userId: "alice", resourceId, start: hour(1), end: hour(2) } },
        withToken(token),
      );
      let next = await events.next();
      while (next.value?.op === Op.BOOKMARK) next = await events.next();
      assert.equal(next.value?.op, Op.CREATE);
      abort.abort();
    }
  });
});

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

    it("a statement that writes many rows is logged row by row, in its order, before the next statement's", async () => {
      const l = collectListen(t.client, { userId: "bulk" });
      await l.opened;
      // Neither by id nor by resource: the log must keep the statement's own order.
      const ids = [
        { r: "b3", id: "00000000-0000-4000-8000-000000000002" },
        { r: "b1", id: "00000000-0000-4000-8000-000000000004" },
        { r: "b4", id: "00000000-0000-4000-8000-000000000001" },
        { r: "b2", id: "00000000-0000-4000-8000-000000000003" },
      ];
      await t.app.db.transaction(async (tx) => {
        // As a bulk load or another writer might: one INSERT of several rows, written directly.
        const rows = ids.map(
          (_, i) =>
            `($${2 * i + 1}::uuid, 'bulk', 'confirmed', $${2 * i + 2}::text, '[2030-01-01 01:00Z, 2030-01-01 02:00Z)', $${2 * i + 2}::text)`,
        );
        await tx.query(
          `INSERT INTO rsvp.reservations (id, user_id, status, resource_id, timespan, note)
           VALUES ${rows.join(", ")}`,
          ids.flatMap((x) => [x.id, x.r]),
        );
        await tx.query("UPDATE rsvp.reservations SET note = 'moved' WHERE id = $1", [ids[1]?.id]);
      });
      const events = await l.waitFor(5);
      l.stop();
      assert.deepEqual(
        events.map((e) => [e.op, e.reservation?.id, e.reservation?.note]),
        [...ids.map((x) => [Op.CREATE, x.id, x.r]), [Op.UPDATE, ids[1]?.id, "moved"]],
      );
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
