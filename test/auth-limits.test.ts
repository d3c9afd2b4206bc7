import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { createRsvpClient, type RsvpClient } from "../src/client/grpc-client.js";
import type { ListenResponse } from "../src/gen/reservation/reservation_pb.js";
import { MAX_MESSAGE_BYTES } from "../src/server/limits.js";
import { cursorAt } from "./helpers/cursors.js";
import { backends } from "./helpers/databases.js";
import { hour } from "./helpers/fixtures.js";
import { eventually } from "./helpers/harness.js";
import { connectCaller, connectTransport, failureOf, grpcCaller } from "./helpers/rpc-caller.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { TEST_AUTH, tokenFor, withToken } from "./helpers/tokens.js";

const [embedded] = backends;
assert.ok(embedded);
const LIMITS = {
  maxQueryRows: 5,
  maxListensPerCaller: 2,
  maxListensPerPeer: 3,
  maxStreamsPerConnection: 8,
};

/** A listen held open: resolves `accepted` with its first event, or fails with its error. */
function hold(client: RsvpClient, req: Parameters<RsvpClient["listen"]>[0], token?: string) {
  const stream = client.listen(req, token ? withToken(token) : {});
  const accepted = (async (): Promise<ListenResponse> => {
    for await (const e of stream) return e;
    throw new Error("the listen ended without an event");
  })();
  accepted.catch(() => {});
  return { accepted, close: () => stream.cancel() };
}

/** The server's HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, as a client connecting to `address` hears it. */
function advertisedMaxStreams(address: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.once("error", reject);
    session.once("remoteSettings", (settings) => {
      session.close();
      resolve(settings.maxConcurrentStreams);
    });
  });
}

describe("limits: a caller beyond them gets RESOURCE_EXHAUSTED, the others carry on", () => {
  let t: TestServer;
  let alice: string;
  let bob: string;
  let admin: string;
  before(async () => {
    t = await startTestServer(embedded, undefined, { auth: TEST_AUTH, limits: LIMITS });
    [alice, bob, admin] = await Promise.all([
      tokenFor("alice", "user"),
      tokenFor("bob", "user"),
      tokenFor("root", "admin"),
    ]);
    const fixtures = grpcCaller(t.client, admin);
    for (let h = 0; h < 6; h++) {
      await fixtures.reserve({
        reservation: { userId: "alice", resourceId: "lim-q", start: hour(h), end: hour(h + 1) },
      });
    }
    await fixtures.reserve({
      reservation: { userId: "bob", resourceId: "lim-b", start: hour(0), end: hour(1) },
    });
  });
  after(() => t.close());

  it("query streams at most RSVP_MAX_QUERY_ROWS rows, then RESOURCE_EXHAUSTED", async () => {
    for (const c of [
      grpcCaller(t.client, alice),
      connectCaller(connectTransport(t.app.httpAddress), alice),
    ]) {
      const failure = await failureOf(c.query({ resourceId: "lim-q" }));
      assert.equal(failure?.code, status.RESOURCE_EXHAUSTED, c.transport);
      assert.match(failure?.message ?? "", /more than 5 .*filter/);
      const narrower = await c.query({ resourceId: "lim-q", start: hour(1), end: hour(6) });
      assert.equal(narrower.length, 5, `${c.transport}: at the limit is fine`);
      const first = await c.filter({ resourceId: "lim-q", pageSize: 5 });
      const rest = await c.filter({
        resourceId: "lim-q",
        pageSize: 5,
        pageToken: first.nextPageToken,
      });
      assert.equal(first.reservations.length + rest.reservations.length, 6, "pages go past it");
    }
    const other = await grpcCaller(t.client, bob).query({});
    assert.equal(other.length, 1, "another caller's query is unaffected");
  });

  it("listen: at most RSVP_MAX_LISTENS_PER_CALLER open per caller; others unaffected", async () => {
    const clients = [0, 1, 2, 3].map(() => createRsvpClient(t.app.grpcAddress));
    const [c0, c1, c2, c3] = clients as [RsvpClient, RsvpClient, RsvpClient, RsvpClient];
    const mine = { resourceId: "lim-q", cursor: await cursorAt(t.app) };
    try {
      // Separate connections: the limit is the caller's, wherever its streams come from.
      const held = [hold(c0, mine, alice), hold(c1, mine, alice)];
      await Promise.all(held.map((h) => h.accepted));
      const third = await failureOf(hold(c2, mine, alice).accepted);
      assert.equal(third?.code, status.RESOURCE_EXHAUSTED);
      assert.match(third?.message ?? "", /at most 2/);
      const viaConnect = await failureOf(
        connectCaller(connectTransport(t.app.httpAddress), alice).listen(mine),
      );
      assert.equal(
        viaConnect?.code,
        status.RESOURCE_EXHAUSTED,
        "the same count on every transport",
      );
      const others = hold(c3, { resourceId: "lim-b", cursor: await cursorAt(t.app) }, bob);
      assert.equal((await others.accepted).reservation?.userId, "bob", "bob is unaffected");
      others.close();
      held[0]?.close();
      // The slot comes back once the server has seen the cancel.
      const again = await eventually(async () => {
        const h = hold(c2, mine, alice);
        try {
          return await h.accepted;
        } catch (err) {
          // Still over the limit until the server has seen the cancel; anything else fails.
          if ((err as { code?: unknown }).code !== status.RESOURCE_EXHAUSTED) throw err;
          return undefined;
        } finally {
          h.close();
        }
      }, "a freed listen slot");
      assert.equal(again.reservation?.userId, "alice");
      held[1]?.close();
    } finally {
      for (const c of clients) c.close();
    }
  });

  it("listen: at most RSVP_MAX_LISTENS_PER_PEER from one address, whoever its callers", async () => {
    const clients = [0, 1, 2, 3].map(() => createRsvpClient(t.app.grpcAddress));
    const [c0, c1, c2, c3] = clients as [RsvpClient, RsvpClient, RsvpClient, RsvpClient];
    const req = { resourceId: "lim-q", cursor: await cursorAt(t.app) };
    try {
      // Slots an earlier test gave back are free once the server has seen those cancels.
      const held = await eventually(async () => {
        const tried = [hold(c0, req, alice), hold(c1, req, alice), hold(c2, req, admin)];
        try {
          await Promise.all(tried.map((h) => h.accepted));
          return tried;
        } catch (err) {
          for (const h of tried) h.close();
          if ((err as { code?: unknown }).code !== status.RESOURCE_EXHAUSTED) throw err;
          return undefined;
        }
      }, "three listens from one address");
      const fourth = await failureOf(hold(c3, req, bob).accepted);
      assert.equal(fourth?.code, status.RESOURCE_EXHAUSTED, "bob is within his own limit");
      assert.match(fourth?.message ?? "", /at most 3 per address/);
      // 127.0.0.2 is loopback too, but another address with a share of its own.
      const elsewhere = connectCaller(
        connectTransport(t.app.httpAddress, { nodeOptions: { localAddress: "127.0.0.2" } }),
        bob,
      );
      const [event] = await elsewhere.listen({ resourceId: "lim-b", cursor: req.cursor });
      assert.equal(event?.reservation?.userId, "bob");
      for (const h of held) h.close();
    } finally {
      for (const c of clients) c.close();
    }
  });

  it("both ports advertise RSVP_MAX_STREAMS_PER_CONNECTION", async () => {
    assert.equal(await advertisedMaxStreams(t.app.grpcAddress), 8);
    assert.equal(await advertisedMaxStreams(t.app.httpAddress), 8);
  });

  it("a request over the message size limit is RESOURCE_EXHAUSTED on both transports", async () => {
    const huge = "x".repeat(MAX_MESSAGE_BYTES + 1);
    for (const c of [
      grpcCaller(t.client, admin),
      connectCaller(connectTransport(t.app.httpAddress), admin),
    ]) {
      const failure = await failureOf(
        c.reserve({
          reservation: {
            userId: "u",
            resourceId: "lim-big",
            note: huge,
            start: hour(0),
            end: hour(1),
          },
        }),
      );
      assert.equal(failure?.code, status.RESOURCE_EXHAUSTED, c.transport);
    }
    const later = await failureOf(
      grpcCaller(t.client, admin).get({ id: "00000000-0000-4000-8000-000000000000" }),
    );
    assert.equal(later?.code, status.NOT_FOUND, "the connection is still fine afterwards");
  });
});

describe("limits without authentication count per address", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(embedded, undefined, {
      limits: { ...LIMITS, maxListensPerCaller: 1 },
    });
    await t.client.reserve({
      reservation: { userId: "u", resourceId: "peer", start: hour(0), end: hour(1) },
    });
  });
  after(() => t.close());

  it("a second address gets its own listen slots", async () => {
    const req = { resourceId: "peer", cursor: await cursorAt(t.app) };
    const held = hold(t.client, req);
    await held.accepted;
    const again = await failureOf(hold(t.client, req).accepted);
    assert.equal(again?.code, status.RESOURCE_EXHAUSTED, "same address: over the limit");
    // 127.0.0.2 is loopback too, but another peer.
    const elsewhere = connectCaller(
      connectTransport(t.app.httpAddress, { nodeOptions: { localAddress: "127.0.0.2" } }),
    );
    const [event] = await elsewhere.listen(req);
    assert.equal(event?.reservation?.resourceId, "peer");
    held.close();
  });
});
