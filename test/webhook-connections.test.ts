import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createWebhookClient, type WebhookClient } from "../src/client/grpc-client.js";
import { type ResolvedAddress, resolvePublic } from "../src/server/webhooks/address-guard.js";
import { backends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { eventually } from "./helpers/harness.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { type Delivery, type Receiver, startReceiver } from "./helpers/webhook-receiver.js";

const FAST = { firstRetryMs: 50, retryMaxMs: 200 };
const HOST = "hooks.example";
const reservationId = (d: Delivery) =>
  (JSON.parse(d.body) as { data: { reservation: { id: string } } }).data.reservation.id;

for (const backend of backends) {
  describe(`webhook connections (${backend.name})`, () => {
    // A name server of the test's own: HOST resolves to whatever `dns` says at the moment.
    // 127.0.0.1 and 127.0.0.2 stand in for two public addresses (the receivers must run on
    // this machine); anything else goes through the real check, private addresses refused.
    const dns = { address: "127.0.0.1" };
    const standIns = new Set(["127.0.0.1", "127.0.0.2"]);
    const resolve = async (hostname: string): Promise<ResolvedAddress> => {
      const address = hostname === HOST ? dns.address : hostname;
      return standIns.has(address) ? { address, family: 4 } : resolvePublic(address, false);
    };
    let t: TestServer;
    let hooks: WebhookClient;
    let first: Receiver;
    let second: Receiver;
    let n = 0;
    before(async () => {
      // Both keep idle connections open long enough for the agent to reuse them.
      first = await startReceiver(() => 204, { keepAliveMs: 10_000 });
      const port = Number(new URL(first.url).port);
      second = await startReceiver(() => 204, { host: "127.0.0.2", port, keepAliveMs: 10_000 });
      t = await startTestServer(backend, undefined, {
        webhooks: FAST,
        resolveWebhookHost: resolve,
      });
      hooks = createWebhookClient(t.app.grpcAddress);
    });
    after(async () => {
      hooks?.close();
      await t?.close();
      await first?.close();
      await second?.close();
    });

    const reserve = async (resourceId: string) => {
      n++;
      const { reservation } = await t.client.reserve({
        reservation: {
          userId: "u",
          resourceId,
          start: ts(new Date(Date.UTC(2030, 0, 1, n)).toISOString()),
          end: ts(new Date(Date.UTC(2030, 0, 1, n + 1)).toISOString()),
        },
      });
      return reservation?.id ?? "";
    };
    const urlOf = (r: Receiver) => `http://${HOST}:${new URL(r.url).port}/hook`;

    it("keeps one connection per webhook, and follows a name that moves to its new address only", async () => {
      dns.address = "127.0.0.1";
      await hooks.putWebhook({ webhook: { id: "h-pool", url: urlOf(first), resourceId: "pool" } });
      const ids = [await reserve("pool"), await reserve("pool"), await reserve("pool")];
      await eventually(() => first.delivered().length >= 3, "three deliveries");
      assert.deepEqual(first.delivered().map(reservationId), ids);
      assert.deepEqual(
        first.attempts.map((d) => d.connection),
        [1, 1, 1],
        "one kept-alive connection",
      );
      // The name now leads elsewhere: the kept connection to the old address is not used.
      dns.address = "127.0.0.2";
      const moved = await reserve("pool");
      await eventually(() => second.delivered().length >= 1, "delivered at the new address");
      assert.deepEqual(second.delivered().map(reservationId), [moved]);
      assert.equal(first.attempts.length, 3, "nothing more over the old connection");
      await hooks.deleteWebhook({ id: "h-pool" });
    });

    it("refuses a name that comes to resolve to a private address, kept-alive connection or not", async () => {
      dns.address = "127.0.0.1";
      first.attempts.length = 0;
      await hooks.putWebhook({ webhook: { id: "h-turn", url: urlOf(first), resourceId: "turn" } });
      const before = await reserve("turn");
      await eventually(() => first.delivered().length >= 1, "the first delivery");
      dns.address = "10.1.2.3";
      const held = await reserve("turn");
      const hook = await eventually(async () => {
        const w = await hooks.getWebhook({ id: "h-turn" });
        return /private/.test(w.lastError) && w;
      }, "a refused delivery");
      assert.equal(hook.disabled, false, "a failure, retried");
      assert.deepEqual(first.attempts.map(reservationId), [before], "nothing sent after the turn");
      assert.equal(second.attempts.filter((d) => reservationId(d) === held).length, 0);
      // Back to a public address: the held change goes, nothing lost.
      dns.address = "127.0.0.1";
      await eventually(() => first.delivered().length >= 2, "the held change delivered");
      assert.deepEqual(first.delivered().map(reservationId), [before, held]);
      await hooks.deleteWebhook({ id: "h-turn" });
    });
  });
}
