import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { ReservationStatus as S } from "../src/gen/reservation/reservation_pb.js";
import { backends } from "./helpers/databases.js";
import { hour, rejectsWith } from "./helpers/fixtures.js";
import {
  type Caller,
  connectCaller,
  connectTransport,
  failureOf,
  grpcCaller,
} from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor, withToken } from "./helpers/tokens.js";

const soon = (m: number) => {
  const ms = Date.now() + m * 60_000;
  return create(TimestampSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: 0 });
};

for (const backend of backends) {
  describe(`approval (${backend.name})`, () => {
    let t: TestServer;
    let admin: Caller;
    let alice: Caller;
    let aliceWeb: Caller;
    let billing: Caller;
    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
      const root = await tokenFor("root", "admin");
      admin = grpcCaller(t.client, root);
      alice = grpcCaller(t.client, await tokenFor("alice", "user"));
      aliceWeb = connectCaller(
        connectTransport(t.app.httpAddress),
        await tokenFor("alice", "user"),
      );
      billing = grpcCaller(t.client, await tokenFor("billing", "service"));
      const put = (id: string, approval: boolean) =>
        t.resources.putResource({ resource: { id, approval } }, withToken(root));
      await put("board-room", true);
      await put("open-room", false);
    });
    after(() => t.close());

    const ask = (c: Caller, resourceId: string, h: number, more: object = {}) =>
      c.reserve({
        reservation: {
          userId: "alice",
          resourceId,
          start: hour(h),
          end: hour(h + 1),
          status: S.CONFIRMED,
        },
        ...more,
      });

    it("a non-admin's reservation is stored pending; only an admin confirms it", async () => {
      const mine = (await ask(alice, "board-room", 9)).reservation;
      assert.equal(mine?.status, S.PENDING, "asked confirmed, stored pending");
      for (const c of [alice, aliceWeb, billing]) {
        const denied = await failureOf(c.confirm({ id: mine?.id ?? "" }));
        assert.equal(denied?.code, status.PERMISSION_DENIED, c.transport);
        assert.match(denied?.message ?? "", /board-room.*needs approval/);
      }
      const confirmed = await admin.confirm({ id: mine?.id ?? "" });
      assert.equal(confirmed.reservation?.status, S.CONFIRMED);
      const byService = (await ask(billing, "board-room", 11)).reservation;
      assert.equal(byService?.status, S.PENDING, "a service's is pending too");
      const byAdmin = (await ask(admin, "board-room", 13)).reservation;
      assert.equal(byAdmin?.status, S.CONFIRMED);
      // Elsewhere nothing changes: the owner confirms her own.
      const open = (await ask(alice, "open-room", 9, {})).reservation;
      assert.equal(open?.status, S.CONFIRMED);
      const pending = (
        await alice.reserve({
          reservation: { resourceId: "open-room", start: hour(11), end: hour(12) },
        })
      ).reservation;
      assert.equal(
        (await alice.confirm({ id: pending?.id ?? "" })).reservation?.status,
        S.CONFIRMED,
      );
    });

    it("groups, series and waits on an approval resource are pending too; the owner checks in", async () => {
      const all = await alice.reserveAll({
        items: [
          {
            reservation: {
              resourceId: "board-room",
              start: hour(30),
              end: hour(31),
              status: S.CONFIRMED,
            },
          },
          {
            reservation: {
              resourceId: "open-room",
              start: hour(30),
              end: hour(31),
              status: S.CONFIRMED,
            },
          },
        ],
      });
      assert.deepEqual(
        all.reservations.map((r) => r.status),
        [S.PENDING, S.CONFIRMED],
      );
      const series = await alice.reserveSeries({
        first: {
          reservation: {
            resourceId: "board-room",
            start: hour(40),
            end: hour(41),
            status: S.CONFIRMED,
          },
        },
        rrule: "FREQ=DAILY;COUNT=2",
      });
      assert.deepEqual(
        series.reservations.map((r) => r.status),
        [S.PENDING, S.PENDING],
      );
      const taken = (await ask(admin, "board-room", 50)).reservation;
      const waiting = (await ask(alice, "board-room", 50, { wait: true })).reservation;
      assert.equal(waiting?.status, S.WAITING);
      await admin.cancel({ id: taken?.id ?? "" });
      const promoted = await admin.get({ id: waiting?.id ?? "" });
      assert.equal(promoted.reservation?.status, S.PENDING, "promoted to what approval allows");

      const now = (
        await alice.reserve({
          reservation: { resourceId: "board-room", start: soon(5), end: soon(30) },
        })
      ).reservation;
      const checked = await alice.checkIn({ id: now?.id ?? "" });
      assert.ok(checked.reservation?.checkedInAt);
      await rejectsWith(
        grpcCaller(t.client, await tokenFor("mallory", "user")).checkIn({ id: now?.id ?? "" }),
        status.PERMISSION_DENIED,
      );
    });
  });
}
