import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Webhook as Verifier } from "standardwebhooks";
import { createWebhookClient, type WebhookClient } from "../src/client/grpc-client.js";
import { ReservationStatus, ReservationUpdateType } from "../src/gen/reservation/reservation_pb.js";
import { ConfigError, loadConfig } from "../src/server/config.js";
import { isPrivateAddress } from "../src/server/webhooks/address-guard.js";
import { backends } from "./helpers/databases.js";
import { rejectsWith, ts } from "./helpers/fixtures.js";
import { eventually, httpBase } from "./helpers/harness.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";
import { type Receiver, startReceiver } from "./helpers/webhook-receiver.js";

interface Body {
  type: string;
  timestamp: string;
  data: {
    reservation: Record<string, unknown>;
    previous?: Record<string, unknown>;
    cursor: string;
  };
}
const parse = (body: string) => JSON.parse(body) as Body;
const FAST = { allowPrivate: true, firstRetryMs: 50, retryMaxMs: 200 };

for (const backend of backends) {
  describe(`webhooks (${backend.name})`, () => {
    let t: TestServer;
    let hooks: WebhookClient;
    let receiver: Receiver;
    before(async () => {
      t = await startTestServer(backend, undefined, { webhooks: FAST });
      hooks = createWebhookClient(t.app.grpcAddress);
      receiver = await startReceiver();
    });
    after(async () => {
      hooks?.close();
      await t?.close();
      await receiver?.close();
    });

    const reserve = (resourceId: string, h: number, extra: Record<string, unknown> = {}) =>
      t.client.reserve({
        reservation: {
          userId: "alice",
          resourceId,
          start: ts(`2030-01-01T${String(h).padStart(2, "0")}:00:00Z`),
          end: ts(`2030-01-01T${String(h + 1).padStart(2, "0")}:00:00Z`),
          ...extra,
        },
      });

    it("manages webhooks: a generated secret shown once, kept by a Put without one", async () => {
      const created = await hooks.putWebhook({ webhook: { id: "h-crud", url: receiver.url } });
      assert.match(created.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      assert.equal(Buffer.from(created.secret.slice(6), "base64").length, 32);
      const got = await hooks.getWebhook({ id: "h-crud" });
      assert.equal(got.secret, "", "never shown again");
      assert.equal(got.url, receiver.url);
      assert.ok(got.createdAt);
      const replaced = await hooks.putWebhook({
        webhook: { id: "h-crud", url: receiver.url, resourceId: "elsewhere" },
      });
      assert.equal(replaced.secret, "");
      assert.equal((await hooks.getWebhook({ id: "h-crud" })).resourceId, "elsewhere");
      for (const id of ["h-list-1", "h-list-2"]) {
        await hooks.putWebhook({ webhook: { id, url: receiver.url, resourceId: "nowhere" } });
      }
      const first = await hooks.listWebhooks({ pageSize: 2 });
      assert.deepEqual(
        first.webhooks.map((w) => w.id),
        ["h-crud", "h-list-1"],
      );
      const second = await hooks.listWebhooks({ pageSize: 2, pageToken: first.nextPageToken });
      assert.ok(second.webhooks.some((w) => w.id === "h-list-2"));
      assert.ok(first.webhooks.every((w) => w.secret === ""));
      for (const id of ["h-crud", "h-list-1", "h-list-2"]) await hooks.deleteWebhook({ id });
      await rejectsWith(hooks.getWebhook({ id: "h-crud" }), status.NOT_FOUND);
      await rejectsWith(hooks.deleteWebhook({ id: "h-crud" }), status.NOT_FOUND);
    });

    it("refuses bad webhooks", async () => {
      for (const webhook of [
        { id: "", url: receiver.url },
        { id: "x", url: "ftp://example.com/" },
        { id: "x", url: "not a url" },
        { id: "x", url: receiver.url, secret: "plain" },
        { id: "x", url: "http://user:pw@127.0.0.1/" },
      ]) {
        await rejectsWith(hooks.putWebhook({ webhook }), status.INVALID_ARGUMENT);
      }
    });

    it("signs each change as Standard Webhooks says, in the proto's JSON", async () => {
      receiver.attempts.length = 0;
      const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
      await hooks.putWebhook({
        webhook: { id: "h-sign", url: receiver.url, resourceId: "sign-room", secret },
      });
      const { reservation } = await reserve("sign-room", 9, { note: "hello" });
      const id = reservation?.id ?? "";
      await reserve("other-room", 9); // filtered out
      await t.client.update({
        id,
        start: ts("2030-01-01T10:00:00Z"),
        end: ts("2030-01-01T11:00:00Z"),
      });
      await t.client.cancel({ id });
      await eventually(() => receiver.delivered().length >= 3, "three deliveries");
      const verifier = new Verifier(secret);
      const bodies = receiver.delivered().map((d) => {
        assert.equal(d.contentType, "application/json");
        assert.match(d.signature, /^v1,[A-Za-z0-9+/]+=*$/);
        verifier.verify(d.body, {
          "webhook-id": d.id,
          "webhook-timestamp": d.timestamp,
          "webhook-signature": d.signature,
        });
        return parse(d.body);
      });
      assert.throws(() =>
        new Verifier(secret).verify(`${receiver.delivered()[0]?.body} `, {
          "webhook-id": receiver.delivered()[0]?.id ?? "",
          "webhook-timestamp": receiver.delivered()[0]?.timestamp ?? "",
          "webhook-signature": receiver.delivered()[0]?.signature ?? "",
        }),
      );
      assert.deepEqual(
        bodies.map((b) => b.type),
        ["reservation.created", "reservation.updated", "reservation.deleted"],
      );
      const [created, updated, deleted] = bodies;
      assert.equal(created?.data.reservation.id, id);
      assert.equal(created?.data.reservation.resourceId, "sign-room", "lowerCamelCase");
      assert.equal(created?.data.reservation.note, "hello");
      assert.equal(created?.data.reservation.start, "2030-01-01T09:00:00Z");
      assert.equal(created?.data.previous, undefined);
      assert.equal(updated?.data.reservation.start, "2030-01-01T10:00:00Z");
      assert.equal(updated?.data.previous?.start, "2030-01-01T09:00:00Z", "what it was before");
      assert.equal(deleted?.data.reservation.status, "RESERVATION_STATUS_CANCELLED");
      assert.equal(deleted?.data.previous, undefined);
      for (const b of bodies) assert.ok(!Number.isNaN(Date.parse(b.timestamp)), b.timestamp);
      // The cursor resumes a listen right after the change: after the update comes the cancel.
      const resumed = t.client.listen({
        cursor: updated?.data.cursor ?? "",
        resourceId: "sign-room",
      });
      for await (const e of resumed) {
        assert.equal(e.op, ReservationUpdateType.DELETE);
        resumed.cancel();
        break;
      }
      await hooks.deleteWebhook({ id: "h-sign" });
    });

    it("carries previous on listen updates too", async () => {
      const { reservation } = await reserve("prev-room", 12, { status: ReservationStatus.PENDING });
      const stream = t.client.listen({ resourceId: "prev-room" });
      await stream.opened;
      await t.client.confirm({ id: reservation?.id ?? "" });
      for await (const e of stream) {
        assert.equal(e.op, ReservationUpdateType.UPDATE);
        assert.equal(e.reservation?.status, ReservationStatus.CONFIRMED);
        assert.equal(e.previous?.status, ReservationStatus.PENDING);
        stream.cancel();
        break;
      }
    });

    it("delivers in commit order under concurrent writers, each change once", async () => {
      receiver.attempts.length = 0;
      await hooks.putWebhook({ webhook: { id: "h-order", url: receiver.url, userId: "writer" } });
      const stream = t.client.listen({ userId: "writer" });
      await stream.opened;
      const writers = 4;
      const each = 10;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < each; i++) {
            await t.client.reserve({
              reservation: {
                userId: "writer",
                resourceId: `order-${w}`,
                start: ts(`2030-02-01T${String(i).padStart(2, "0")}:00:00Z`),
                end: ts(`2030-02-01T${String(i + 1).padStart(2, "0")}:00:00Z`),
              },
            });
          }
        }),
      );
      const heard: string[] = [];
      for await (const e of stream) {
        heard.push(e.reservation?.id ?? "");
        if (heard.length === writers * each) break;
      }
      stream.cancel();
      await eventually(
        () => receiver.delivered().length >= writers * each,
        "every change delivered",
      );
      const got = receiver.delivered().map((d) => parse(d.body).data.reservation.id);
      assert.deepEqual(got, heard, "the listen stream's order, each once");
      assert.equal(new Set(receiver.delivered().map((d) => d.id)).size, writers * each);
      assert.equal(receiver.maxInFlight(), 1, "never two at once for one webhook");
      await hooks.deleteWebhook({ id: "h-order" });
    });

    it("retries after 500s and a dropped connection, with the same webhook-id, holding later changes back", async () => {
      receiver.attempts.length = 0;
      receiver.answer = (n) => (n < 2 ? 500 : n === 2 ? "drop" : 204);
      await hooks.putWebhook({
        webhook: { id: "h-retry", url: receiver.url, resourceId: "retry-room" },
      });
      const { reservation: a } = await reserve("retry-room", 1);
      const { reservation: b } = await reserve("retry-room", 3);
      await eventually(() => receiver.delivered().length >= 2, "both delivered in the end");
      const [first, second, third, fourth, fifth] = receiver.attempts;
      assert.deepEqual(
        [first, second, third, fourth].map((d) => d?.id),
        Array(4).fill(first?.id),
        "one delivery, one id, four attempts",
      );
      assert.deepEqual(receiver.attempts.map((d) => d.answer).slice(0, 4), [500, 500, "drop", 204]);
      assert.equal(parse(fourth?.body ?? "").data.reservation.id, a?.id);
      assert.equal(parse(fifth?.body ?? "").data.reservation.id, b?.id);
      const hook = await hooks.getWebhook({ id: "h-retry" });
      assert.ok(hook.lastSuccessAt);
      assert.equal(hook.lastError, "");
      assert.equal(hook.disabled, false);
      const metrics = await (await fetch(`${httpBase(t.app)}/metrics`)).text();
      assert.match(metrics, /rsvp_webhook_deliveries_total\{outcome="failure"\} [1-9]/);
      assert.match(metrics, /rsvp_webhook_deliveries_total\{outcome="success"\} [1-9]/);
      assert.match(metrics, /rsvp_webhook_lag_seconds\{webhook="h-retry"\} 0/);
      receiver.answer = () => 204;
      await hooks.deleteWebhook({ id: "h-retry" });
    });

    it("disables at once on 410 Gone, and a Put enables it again with nothing lost", async () => {
      receiver.attempts.length = 0;
      receiver.answer = () => 410;
      await hooks.putWebhook({
        webhook: { id: "h-gone", url: receiver.url, resourceId: "gone-room" },
      });
      const { reservation } = await reserve("gone-room", 1);
      const hook = await eventually(async () => {
        const w = await hooks.getWebhook({ id: "h-gone" });
        return w.disabled && w;
      }, "disabled");
      assert.match(hook.disabledReason, /410/);
      assert.equal(receiver.attempts.length, 1, "no retry after 410");
      receiver.answer = () => 204;
      await hooks.putWebhook({
        webhook: { id: "h-gone", url: receiver.url, resourceId: "gone-room" },
      });
      await eventually(() => receiver.delivered().length === 1, "the held change delivered");
      assert.equal(parse(receiver.delivered()[0]?.body ?? "").data.reservation.id, reservation?.id);
      assert.equal((await hooks.getWebhook({ id: "h-gone" })).disabled, false);
      await hooks.deleteWebhook({ id: "h-gone" });
    });

    it("tells private addresses apart", () => {
      for (const a of [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
      ]) {
        assert.ok(isPrivateAddress(a), a);
      }
      for (const a of ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"]) {
        assert.ok(!isPrivateAddress(a), a);
      }
    });
  });
}

describe("webhook limits", () => {
  const [embedded] = backends;
  assert.ok(embedded);

  it("reads its settings from the environment", () => {
    assert.deepEqual(
      loadConfig({
        RSVP_WEBHOOK_ALLOW_PRIVATE: "1",
        RSVP_WEBHOOK_RETRY_MAX_SECONDS: "30",
        RSVP_WEBHOOK_DISABLE_AFTER_SECONDS: "3600",
        RSVP_WEBHOOK_LEASE_SECONDS: "20",
      }).webhooks,
      { allowPrivate: true, retryMaxMs: 30_000, disableAfterMs: 3_600_000, leaseMs: 20_000 },
    );
    assert.deepEqual(loadConfig({}).webhooks, { allowPrivate: false });
    assert.throws(() => loadConfig({ RSVP_WEBHOOK_LEASE_SECONDS: "5" }), ConfigError);
    assert.throws(() => loadConfig({ RSVP_WEBHOOK_RETRY_MAX_SECONDS: "soon" }), ConfigError);
  });

  it("refuses private addresses at Put unless allowed", async () => {
    const t = await startTestServer(embedded);
    const hooks = createWebhookClient(t.app.grpcAddress);
    try {
      for (const url of [
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://169.254.169.254/",
        "http://[::1]/",
      ]) {
        const err = await rejectsWith(
          hooks.putWebhook({ webhook: { id: "p", url } }),
          status.INVALID_ARGUMENT,
        );
        assert.match(err.message, /RSVP_WEBHOOK_ALLOW_PRIVATE/);
      }
    } finally {
      hooks.close();
      await t.close();
    }
  });

  it("disables a webhook whose deliveries failed for the configured time", async () => {
    const receiver = await startReceiver(() => 500);
    const t = await startTestServer(embedded, undefined, {
      webhooks: { ...FAST, disableAfterMs: 600 },
    });
    const hooks = createWebhookClient(t.app.grpcAddress);
    try {
      await hooks.putWebhook({ webhook: { id: "h-limit", url: receiver.url } });
      await t.client.reserve({
        reservation: {
          userId: "u",
          resourceId: "limit-room",
          start: ts("2030-01-01T01:00:00Z"),
          end: ts("2030-01-01T02:00:00Z"),
        },
      });
      const hook = await eventually(async () => {
        const w = await hooks.getWebhook({ id: "h-limit" });
        return w.disabled && w;
      }, "disabled after the limit");
      assert.match(hook.disabledReason, /failed for/);
      assert.match(hook.lastError, /HTTP 500/);
      assert.ok(receiver.attempts.length >= 2, "retried before giving up");
      assert.equal(new Set(receiver.attempts.map((d) => d.id)).size, 1, "one delivery retried");
    } finally {
      hooks.close();
      await t.close();
      await receiver.close();
    }
  });
});

describe("webhook delivery safety", () => {
  const [embedded] = backends;
  assert.ok(embedded);

  it("checks the address again at delivery: a private one fails there", async () => {
    const receiver = await startReceiver();
    const t = await startTestServer(embedded, undefined, {
      webhooks: { firstRetryMs: 50, retryMaxMs: 100 },
    });
    const hooks = createWebhookClient(t.app.grpcAddress);
    try {
      // As if the name had resolved to a public address at Put and moved since.
      await t.app.db.query(
        `INSERT INTO rsvp.webhooks (id, url, secret, pos_xid, pos_seq)
         VALUES ('h-moved', $1, $2, rsvp.feed_horizon(), 0)`,
        [receiver.url, `whsec_${Buffer.alloc(32, 1).toString("base64")}`],
      );
      await t.client.reserve({
        reservation: {
          userId: "u",
          resourceId: "moved-room",
          start: ts("2030-01-01T01:00:00Z"),
          end: ts("2030-01-01T02:00:00Z"),
        },
      });
      const hook = await eventually(async () => {
        const w = await hooks.getWebhook({ id: "h-moved" });
        return w.lastError !== "" && w;
      }, "a failed delivery");
      assert.match(hook.lastError, /private/);
      assert.equal(receiver.attempts.length, 0, "nothing was sent");
    } finally {
      hooks.close();
      await t.close();
      await receiver.close();
    }
  });

  it("takes over a webhook whose holder died once its lease runs out, not before", async () => {
    const receiver = await startReceiver();
    const arrivals: number[] = [];
    receiver.answer = () => {
      arrivals.push(Date.now());
      return 204;
    };
    const t = await startTestServer(embedded, undefined, {
      webhooks: { ...FAST, leaseMs: 3000, timeoutMs: 500 },
    });
    const hooks = createWebhookClient(t.app.grpcAddress);
    try {
      await hooks.putWebhook({ webhook: { id: "h-dead", url: receiver.url } });
      // Another process holds it and has died: its lease ends in 1.5 s.
      const [row] = await t.app.db.query<{ until_ms: string }>(
        `UPDATE rsvp.webhooks SET lease_owner = 'a-process-that-died',
                lease_until = now() + interval '1.5 seconds'
          WHERE id = 'h-dead'
          RETURNING (extract(epoch FROM lease_until) * 1000)::bigint::text AS until_ms`,
      );
      const until = Number(row?.until_ms);
      await t.client.reserve({
        reservation: {
          userId: "u",
          resourceId: "dead-room",
          start: ts("2030-01-01T01:00:00Z"),
          end: ts("2030-01-01T02:00:00Z"),
        },
      });
      await eventually(
        () => receiver.delivered().length === 1,
        "delivered after the lease ran out",
      );
      assert.ok((arrivals[0] ?? 0) >= until, "never while the other process held it");
    } finally {
      hooks.close();
      await t.close();
      await receiver.close();
    }
  });
});
