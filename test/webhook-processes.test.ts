import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { createRsvpClient, createWebhookClient } from "../src/client/grpc-client.js";
import type { DatabaseTarget } from "../src/db/engine/open.js";
import { backends, postgresBackends } from "./helpers/databases.js";
import { ts } from "./helpers/fixtures.js";
import { eventually, startServer } from "./helpers/harness.js";
import { type Delivery, startReceiver } from "./helpers/webhook-receiver.js";

const FAST = { allowPrivate: true, firstRetryMs: 50, retryMaxMs: 200 };
const reservationId = (d: Delivery) =>
  (JSON.parse(d.body) as { data: { reservation: { id: string } } }).data.reservation.id;

/** The deliveries answered 2xx, a repeated webhook-id (a retry after a crash) counted once. */
function firstOfEach(deliveries: Delivery[]): Delivery[] {
  const seen = new Set<string>();
  return deliveries.filter((d) => !seen.has(d.id) && seen.add(d.id));
}

/** Starts an app over `target` with a gRPC client of it. */
async function serve(target: DatabaseTarget) {
  const app = await startServer(target, { config: { webhooks: FAST } });
  return {
    app,
    client: createRsvpClient(app.grpcAddress),
    hooks: createWebhookClient(app.grpcAddress),
    async close() {
      this.client.close();
      this.hooks.close();
      await app.close();
    },
  };
}

async function reserveMany(app: Awaited<ReturnType<typeof serve>>, prefix: string, n: number) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { reservation } = await app.client.reserve({
      reservation: {
        userId: "u",
        resourceId: `${prefix}-${i % 3}`,
        start: ts(new Date(Date.UTC(2030, 0, 1, i)).toISOString()),
        end: ts(new Date(Date.UTC(2030, 0, 1, i + 1)).toISOString()),
      },
    });
    ids.push(reservation?.id ?? "");
  }
  return ids;
}

/** A database that outlives one server: a data directory, or a Postgres database. */
async function durableTargets(): Promise<
  Array<{ name: string; target: DatabaseTarget; drop(): Promise<void> }>
> {
  const dir = await mkdtemp(path.join(tmpdir(), "rsvp-webhooks-"));
  const out = [
    {
      name: "embedded",
      target: { kind: "embedded", dataDir: dir } as DatabaseTarget,
      drop: () => rm(dir, { recursive: true, force: true }),
    },
  ];
  for (const b of postgresBackends) {
    const db = await b.create();
    out.push({ name: b.name, target: db.target, drop: () => db.drop() });
  }
  return out;
}

describe("webhooks across server restarts and processes", () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("resumes after a restart mid-backlog: nothing lost, nothing out of order", async () => {
    assert.ok(backends.length > 0);
    for (const { name, target, drop } of await durableTargets()) {
      cleanups.push(drop);
      // Takes ten, then refuses everything until the restart.
      const receiver = await startReceiver((n) => (n < 10 ? 204 : 503));
      cleanups.push(() => receiver.close());
      const first = await serve(target);
      await first.hooks.putWebhook({ webhook: { id: "h-restart", url: receiver.url } });
      const ids = await reserveMany(first, "restart", 30);
      await eventually(() => receiver.attempts.length > 11, `${name}: a backlog behind failures`);
      await first.close();
      receiver.answer = () => 204;
      const second = await serve(target);
      cleanups.push(() => second.close());
      await eventually(
        () => firstOfEach(receiver.delivered()).length >= 30,
        `${name}: the backlog delivered after the restart`,
      );
      assert.deepEqual(firstOfEach(receiver.delivered()).map(reservationId), ids, name);
      await second.close();
    }
  });

  it("stores the position at a clean stop: a restart sends nothing again", async () => {
    for (const { name, target, drop } of await durableTargets()) {
      cleanups.push(drop);
      // Slow answers: the stop comes mid-backlog, with a delivery in flight.
      const receiver = await startReceiver();
      cleanups.push(() => receiver.close());
      receiver.delayMs = 200;
      const first = await serve(target);
      await first.hooks.putWebhook({ webhook: { id: "h-clean", url: receiver.url } });
      const ids = await reserveMany(first, "clean", 40);
      await eventually(() => receiver.attempts.length >= 3, `${name}: deliveries under way`);
      await first.close();
      receiver.delayMs = 0;
      const sent = receiver.attempts.length;
      assert.ok(sent < 40, `${name}: stopped mid-backlog (${sent} sent)`);
      const second = await serve(target);
      cleanups.push(() => second.close());
      await eventually(
        () => receiver.delivered().length >= 40,
        `${name}: the backlog delivered after the restart`,
      );
      const more = await reserveMany(second, "clean-more", 1);
      await eventually(() => receiver.delivered().length >= 41, `${name}: one more`);
      assert.deepEqual(receiver.delivered().map(reservationId), [...ids, ...more], name);
      assert.equal(new Set(receiver.attempts.map((d) => d.id)).size, 41, `${name}: none twice`);
      assert.equal(receiver.attempts.length, 41, `${name}: each sent once`);
      await second.close();
    }
  });

  // Two processes need a database both reach: a Postgres server.
  for (const pg of postgresBackends) {
    it("two server processes deliver each change once, in order, one at a time", async () => {
      const db = await pg.create();
      cleanups.push(() => db.drop());
      const receiver = await startReceiver();
      cleanups.push(() => receiver.close());
      const one = await serve(db.target);
      const two = await serve(db.target);
      cleanups.push(
        () => one.close(),
        () => two.close(),
      );
      await one.hooks.putWebhook({ webhook: { id: "h-two", url: receiver.url } });
      const listen = one.client.listen({});
      await listen.opened;
      await Promise.all([reserveMany(one, "two-a", 15), reserveMany(two, "two-b", 15)]);
      const heard: string[] = [];
      for await (const e of listen) {
        heard.push(e.reservation?.id ?? "");
        if (heard.length === 30) break;
      }
      listen.cancel();
      await eventually(() => receiver.delivered().length >= 30, "all thirty delivered");
      assert.deepEqual(receiver.delivered().map(reservationId), heard, "commit order");
      assert.equal(receiver.attempts.length, 30, "each once: no process delivered it twice");
      assert.equal(receiver.maxInFlight(), 1);
      // The holder stops; the other takes over at once and goes on.
      await one.close();
      const more = await reserveMany(two, "two-c", 5);
      await eventually(() => receiver.delivered().length >= 35, "delivered by the other process");
      assert.deepEqual(receiver.delivered().slice(30).map(reservationId), more);
    });
  }
});
