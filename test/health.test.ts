import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus as S,
} from "../src/gen/grpc/health/v1/health_pb.js";
import { ReservationService } from "../src/gen/reservation/reservation_pb.js";
import type { App } from "../src/server/app.js";
import { backends, postgresBackends, type TestDatabase } from "./helpers/databases.js";
import { memoryTarget } from "./helpers/embedded-template.js";
import { eventually, httpBase, startServer } from "./helpers/harness.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

/** A grpc.health.v1 client over the gRPC port (Connect's gRPC client: HTTP/2, real framing). */
const healthClient = (app: App) =>
  createClient(Health, createGrpcTransport({ baseUrl: `http://${app.grpcAddress}` }));

/** Reads a Watch stream in the background: what it has said so far, and how it ended. */
function watch(app: App, service = "") {
  const abort = new AbortController();
  const seen: S[] = [];
  const ended = (async () => {
    for await (const res of healthClient(app).watch({ service }, { signal: abort.signal })) {
      seen.push(res.status);
    }
  })();
  ended.catch(() => {});
  return { seen, ended, stop: () => abort.abort() };
}

const readyz = async (app: App) => {
  const res = await fetch(`${httpBase(app)}/readyz`);
  return { status: res.status, text: await res.text() };
};

for (const backend of backends) {
  describe(`health (${backend.name})`, () => {
    let database: TestDatabase;
    let app: App;
    before(async () => {
      database = await backend.create();
      app = await startServer(database.target, { config: { healthProbeMs: 50 } });
    });
    after(async () => {
      await app.close();
      await database.drop();
    });

    it("Check reports SERVING for the server and its service, NOT_FOUND for others", async () => {
      const client = healthClient(app);
      assert.equal((await client.check({ service: "" })).status, S.SERVING);
      assert.equal(
        (await client.check({ service: ReservationService.typeName })).status,
        S.SERVING,
      );
      await assert.rejects(client.check({ service: "no.Such" }), (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, Code.NotFound);
        return true;
      });
      const { statuses } = await client.list({});
      assert.equal(statuses[ReservationService.typeName]?.status, S.SERVING);
    });

    it("/healthz says alive and /readyz ready", async () => {
      const alive = await fetch(`${httpBase(app)}/healthz`);
      assert.equal(alive.status, 200);
      assert.deepEqual(await readyz(app), { status: 200, text: "ready\n" });
    });

    it("a database without this build's migrations is not ready, and Watch says so", async () => {
      const w = watch(app, ReservationService.typeName);
      await eventually(() => w.seen.length === 1, "the first Watch answer");
      const [removed] = await app.db.query<{ version: number; name: string }>(
        `DELETE FROM rsvp.schema_migrations
         WHERE version = (SELECT max(version) FROM rsvp.schema_migrations)
         RETURNING version, name`,
      );
      assert.ok(removed);
      await eventually(() => w.seen.at(-1) === S.NOT_SERVING, "NOT_SERVING on Watch");
      const notReady = await readyz(app);
      assert.equal(notReady.status, 503);
      assert.match(notReady.text, /schema is at version \d+, want \d+/);
      assert.equal((await healthClient(app).check({ service: "" })).status, S.NOT_SERVING);

      await app.db.query("INSERT INTO rsvp.schema_migrations (version, name) VALUES ($1, $2)", [
        removed.version,
        removed.name,
      ]);
      await eventually(() => w.seen.at(-1) === S.SERVING, "SERVING again on Watch");
      assert.deepEqual(w.seen, [S.SERVING, S.NOT_SERVING, S.SERVING]);
      assert.equal((await readyz(app)).status, 200);
      w.stop();
    });
  });
}

describe("health at shutdown", () => {
  it("Watch hears NOT_SERVING, then its stream ends cleanly", async () => {
    const app = await startServer(await memoryTarget());
    const w = watch(app);
    await eventually(() => w.seen.length === 1, "the first Watch answer");
    await app.close();
    await w.ended; // rejects if the stream ended with an error status
    assert.deepEqual(w.seen, [S.SERVING, S.NOT_SERVING]);
  });
});

for (const backend of postgresBackends) {
  describe(`health during a database outage (${backend.name})`, () => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: App;
    before(async () => {
      database = await backend.create();
      assert.equal(database.target.kind, "postgres");
      const url = new URL(database.target.kind === "postgres" ? database.target.url : "");
      proxy = await startTcpProxy(url.hostname, Number(url.port));
      url.port = String(proxy.port);
      app = await startServer(
        { kind: "postgres", url: url.toString() },
        { config: { healthProbeMs: 50 } },
      );
    });
    after(async () => {
      await proxy.restore().catch(() => {});
      await app.close();
      await proxy.close();
      await database.drop();
    });

    it("reports NOT_SERVING and 503 while the database is unreachable, SERVING after", async () => {
      const w = watch(app);
      await eventually(() => w.seen.length === 1, "the first Watch answer");
      await proxy.cut();
      await eventually(() => w.seen.at(-1) === S.NOT_SERVING, "NOT_SERVING on Watch");
      assert.equal((await healthClient(app).check({ service: "" })).status, S.NOT_SERVING);
      assert.deepEqual(await readyz(app), {
        status: 503,
        text: "not ready: database unreachable\n",
      });
      const alive = await fetch(`${httpBase(app)}/healthz`);
      assert.equal(alive.status, 200, "alive all the same: restarting would not help");

      await proxy.restore();
      await eventually(() => w.seen.at(-1) === S.SERVING, "SERVING again on Watch");
      assert.equal((await readyz(app)).status, 200);
      w.stop();
    });
  });
}
