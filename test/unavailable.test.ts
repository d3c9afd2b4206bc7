import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { createRsvpClient, type RsvpClient } from "../src/client/grpc-client.js";
import { type App, startApp } from "../src/server/app.js";
import { createLogger } from "../src/server/logger.js";
import { postgresBackends, type TestDatabase } from "./helpers/databases.js";
import { hour, rejectsWith } from "./helpers/fixtures.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

for (const backend of postgresBackends) {
  describe(`database outage (${backend.name})`, () => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: App;
    let client: RsvpClient;
    before(async () => {
      database = await backend.create();
      assert.equal(database.target.kind, "postgres");
      const url = new URL(database.target.kind === "postgres" ? database.target.url : "");
      proxy = await startTcpProxy(url.hostname, Number(url.port));
      url.port = String(proxy.port);
      app = await startApp({
        config: {
          host: "127.0.0.1",
          port: 0,
          httpPort: 0,
          database: { kind: "postgres", url: url.toString() },
          retentionSeconds: 3600,
        },
        log: createLogger("silent"),
      });
      client = createRsvpClient(app.grpcAddress);
    });
    after(async () => {
      client.close();
      await proxy.restore().catch(() => {});
      await app.close();
      await proxy.close();
      await database.drop();
    });

    it("a database that is down gives UNAVAILABLE, and service resumes when it is back", async () => {
      const req = { reservation: { userId: "u", resourceId: "r", start: hour(1), end: hour(2) } };
      const { reservation } = await client.reserve(req);
      assert.ok(reservation);
      await proxy.cut();
      await rejectsWith(client.get({ id: reservation.id }), status.UNAVAILABLE);
      await rejectsWith(
        client.reserve({ reservation: { ...req.reservation, start: hour(3), end: hour(4) } }),
        status.UNAVAILABLE,
      );
      // Validation needs no database: a bad request is still INVALID_ARGUMENT, never INTERNAL.
      await rejectsWith(client.get({ id: "nope" }), status.INVALID_ARGUMENT);
      await proxy.restore();
      const got = await client.get({ id: reservation.id });
      assert.equal(got.reservation?.id, reservation.id);
    });
  });
}
