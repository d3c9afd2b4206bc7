import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { toJsonString } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import type { Role } from "../src/auth/caller.js";
import {
  AvailableResponseSchema,
  type Reservation,
  ReservationStatus as S,
} from "../src/gen/reservation/reservation_pb.js";
import { cursorAt } from "./helpers/cursors.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import {
  type Caller,
  connectCaller,
  connectTransport,
  failureOf,
  grpcCaller,
} from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor } from "./helpers/tokens.js";

type Scope = "own" | "other";
const OTHER = "bob";
/** The change log from its beginning: a listen that replays a resource's whole history. */
const SUBS: Record<Role, string> = { user: "alice", admin: "root", service: "billing" };

const owners = (rs: Array<Reservation | undefined>) => rs.map((r) => r?.userId);

/**
 * One rpc of the table: `run` sets up what it needs on `resource` (through `fixtures`, an
 * admin), calls the rpc as `caller` on reservations of `owner`, and returns the owners of the
 * reservations it got back. A listing's fixture holds one of OTHER's, then one of `me`'s.
 */
interface RpcCase {
  readonly rpc: string;
  run(c: Caller, me: string, scope: Scope, resource: string): Promise<Array<string | undefined>>;
}

for (const backend of backends) {
  describe(`authorization: role × rpc × own/other (${backend.name})`, () => {
    let t: TestServer;
    let fixtures: Caller;
    const callers: Array<{ role: Role; caller: Caller }> = [];
    const anonymous: Caller[] = [];

    before(async () => {
      t = await startTestServer(backend, undefined, { auth: TEST_AUTH });
      fixtures = grpcCaller(t.client, await tokenFor("fixtures", "admin"));
      const http = connectTransport(t.app.httpAddress);
      for (const role of ["user", "admin", "service"] as const) {
        const token = await tokenFor(SUBS[role], role);
        callers.push({ role, caller: grpcCaller(t.client, token) });
        callers.push({ role, caller: connectCaller(http, token) });
      }
      anonymous.push(grpcCaller(t.client), connectCaller(http));
    });
    after(() => t.close());

    const reserveFor = async (userId: string, resourceId: string, h: number) => {
      const { reservation } = await fixtures.reserve({
        reservation: { userId, resourceId, start: hour(h), end: hour(h + 1), note: `${userId}'s` },
      });
      assert.ok(reservation);
      return reservation;
    };
    const ownerOf = (me: string, scope: Scope) => (scope === "own" ? me : OTHER);
    /** A listing's fixture, and the user filter that asks for `scope`. */
    const listing = async (me: string, scope: Scope, resource: string) => {
      await reserveFor(OTHER, resource, 0);
      await reserveFor(me, resource, 1);
      const window = { resourceId: resource, start: hour(0), end: hour(2) };
      return { ...window, userId: scope === "own" ? "" : OTHER };
    };

    const CASES: RpcCase[] = [
      {
        rpc: "reserve",
        async run(c, me, scope, resource) {
          const userId = ownerOf(me, scope);
          const { reservation } = await c.reserve({
            reservation: { userId, resourceId: resource, start: hour(0), end: hour(1) },
          });
          return owners([reservation]);
        },
      },
      {
        rpc: "confirm",
        async run(c, me, scope, resource) {
          const { id } = await reserveFor(ownerOf(me, scope), resource, 0);
          const { reservation } = await c.confirm({ id });
          assert.equal(reservation?.status, S.CONFIRMED);
          return owners([reservation]);
        },
      },
      {
        rpc: "update",
        async run(c, me, scope, resource) {
          const { id } = await reserveFor(ownerOf(me, scope), resource, 0);
          const { reservation } = await c.update({ id, start: hour(2), end: hour(3) });
          assert.deepEqual(reservation?.start, hour(2));
          return owners([reservation]);
        },
      },
      {
        rpc: "cancel",
        async run(c, me, scope, resource) {
          const { id } = await reserveFor(ownerOf(me, scope), resource, 0);
          const { reservation } = await c.cancel({ id });
          assert.equal(reservation?.status, S.CANCELLED);
          return owners([reservation]);
        },
      },
      {
        rpc: "get",
        async run(c, me, scope, resource) {
          const { id } = await reserveFor(ownerOf(me, scope), resource, 0);
          return owners([(await c.get({ id })).reservation]);
        },
      },
      {
        rpc: "query",
        async run(c, me, scope, resource) {
          return owners(await c.query(await listing(me, scope, resource)));
        },
      },
      {
        rpc: "filter",
        async run(c, me, scope, resource) {
          const req = await listing(me, scope, resource);
          return owners((await c.filter({ ...req, pageSize: 10 })).reservations);
        },
      },
      {
        rpc: "listen",
        async run(c, me, scope, resource) {
          const { resourceId, userId } = await listing(me, scope, resource);
          // As many events as the caller may see: one more would wait forever.
          const visible = scope === "own" && me !== SUBS.user ? 2 : 1;
          const events = await c.listen(
            { resourceId, userId, cursor: await cursorAt(t.app) },
            visible,
          );
          return owners(events.map((e) => e.reservation));
        },
      },
      {
        rpc: "available",
        async run(c, me, scope, resource) {
          await reserveFor(ownerOf(me, scope), resource, 1);
          const res = await c.available({ resourceId: resource, start: hour(0), end: hour(3) });
          assert.deepEqual(
            res.windows.map((w) => [w.start, w.end]),
            [
              [hour(0), hour(1)],
              [hour(2), hour(3)],
            ],
          );
          // Bare windows: no one's id or note anywhere in the answer.
          assert.doesNotMatch(toJsonString(AvailableResponseSchema, res), /alice|bob|root|billing/);
          return [];
        },
      },
    ];

    /** What a caller of `role` gets back: the owners it sees, or the code it is refused with. */
    function expected(rpc: string, role: Role, scope: Scope): Array<string | undefined> | number {
      const me = SUBS[role];
      if (rpc === "available") return [];
      if (role === "user" && scope === "other") return status.PERMISSION_DENIED;
      if (!["query", "filter", "listen"].includes(rpc)) return [ownerOf(me, scope)];
      if (scope === "other") return [OTHER];
      return role === "user" ? [me] : [OTHER, me];
    }

    it("every role gets exactly its due from every rpc, on gRPC and Connect", async () => {
      const rows: string[] = [];
      for (const { role, caller } of callers) {
        for (const scope of ["own", "other"] as const) {
          for (const { rpc, run } of CASES) {
            const resource = `t-${caller.transport}-${role}-${scope}-${rpc}`;
            const want = expected(rpc, role, scope);
            const label = `${caller.transport} ${role} ${rpc} ${scope}`;
            let got: Array<string | undefined> | number;
            try {
              got = await run(caller, SUBS[role], scope, resource);
            } catch (err) {
              const failure = await failureOf(Promise.reject(err));
              got = failure?.code ?? -1;
              // A denial never names whom the reservation belongs to.
              if (role === "user") assert.doesNotMatch(failure?.message ?? "", /bob/, label);
            }
            assert.deepEqual(got, want, label);
            rows.push(label);
          }
        }
      }
      assert.equal(rows.length, 2 * 3 * 2 * CASES.length, "the whole table ran");
    });

    it("only an admin may block a window, on both transports", async () => {
      for (const { role, caller } of callers) {
        const resource = `t-blocked-${caller.transport}-${role}`;
        const call = caller.reserve({
          reservation: { resourceId: resource, start: hour(0), end: hour(1), status: S.BLOCKED },
        });
        const failure = await failureOf(call);
        if (role === "admin") assert.equal(failure, undefined, `${caller.transport} admin`);
        else assert.equal(failure?.code, status.PERMISSION_DENIED, `${caller.transport} ${role}`);
      }
    });

    it("an empty user_id reserves for the caller itself, whatever its role", async () => {
      for (const { role, caller } of callers) {
        const { reservation } = await caller.reserve({
          reservation: {
            resourceId: `t-self-${caller.transport}-${role}`,
            start: hour(0),
            end: hour(1),
          },
        });
        assert.equal(reservation?.userId, SUBS[role], `${caller.transport} ${role}`);
      }
    });

    it("without a token every rpc is UNAUTHENTICATED, on both transports", async () => {
      const { id } = await reserveFor("alice", "t-anon", 0);
      const window = { start: hour(0), end: hour(1) };
      for (const c of anonymous) {
        const calls: Array<[string, Promise<unknown>]> = [
          ["reserve", c.reserve({ reservation: { userId: "x", resourceId: "t-anon", ...window } })],
          ["confirm", c.confirm({ id })],
          ["update", c.update({ id, note: "x" })],
          ["cancel", c.cancel({ id })],
          ["get", c.get({ id })],
          ["query", c.query({})],
          ["filter", c.filter({})],
          ["listen", c.listen({})],
          ["available", c.available({ resourceId: "t-anon", ...window })],
        ];
        for (const [rpc, call] of calls) {
          const failure = await failureOf(call);
          assert.equal(failure?.code, status.UNAUTHENTICATED, `${c.transport} ${rpc}`);
        }
      }
      const { reservation } = await fixtures.get({ id });
      assert.equal(reservation?.status, S.PENDING, "nothing an anonymous caller sent took effect");
      assert.equal(reservation?.note, "alice's");
    });

    it("a clash shown to a user names the window, never who holds it or why", async () => {
      await reserveFor("bob", "t-clash", 10);
      for (const { role, caller } of callers.filter((c) => c.role === "user")) {
        const failure = await failureOf(
          caller.reserve({
            reservation: { resourceId: "t-clash", start: hour(10.5), end: hour(11.5) },
          }),
        );
        assert.equal(failure?.code, status.ALREADY_EXISTS, `${caller.transport} ${role}`);
        assert.match(failure?.message ?? "", /t-clash/);
        assert.doesNotMatch(failure?.message ?? "", /bob/);
        assert.deepEqual(failure?.conflict?.existingStart, hour(10));
        assert.deepEqual(failure?.conflict?.existingEnd, hour(11));
        assert.doesNotMatch(
          JSON.stringify(failure?.conflict, (_k, v) => String(v)),
          /bob/,
        );
      }
    });

    it("a user's listen hears its own changes only, even asked for everything", async () => {
      const user = callers.find((c) => c.role === "user");
      assert.ok(user);
      await reserveFor("bob", "t-hear", 0);
      await reserveFor("carol", "t-hear", 1);
      const mine = await reserveFor("alice", "t-hear", 2);
      const everything = await user.caller.listen({ cursor: await cursorAt(t.app) }, 5);
      assert.deepEqual(owners(everything.map((e) => e.reservation)), Array(5).fill("alice"));
      const all = await user.caller.listen({ resourceId: "t-hear", cursor: await cursorAt(t.app) });
      assert.deepEqual(owners(all.map((e) => e.reservation)), ["alice"]);
      assert.equal(all[0]?.reservation?.id, mine.id);
    });
  });
}
