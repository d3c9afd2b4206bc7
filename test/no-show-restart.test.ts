import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { createResourceClient, createRsvpClient } from "../src/client/grpc-client.js";
import { type DatabaseTarget, openDb } from "../src/db/engine/open.js";
import { ReservationUpdateType as Op } from "../src/gen/reservation/reservation_pb.js";
import { passTime } from "./helpers/backdate.js";
import { backends } from "./helpers/databases.js";
import { startServer } from "./helpers/harness.js";
import { collectListen } from "./helpers/listener.js";

const minutes = (m: number) => {
  const ms = Date.now() + m * 60_000;
  return create(TimestampSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: 0 });
};

for (const backend of backends) {
  describe(`no-show release across a restart (${backend.name})`, () => {
    it("a no-show that fell due while no server ran is released by the next one, and listen shows it", async () => {
      const database = await backend.create();
      // The embedded database in a directory, so that it outlives its server.
      const dir = backend.name === "embedded" ? mkdtempSync(join(tmpdir(), "rsvp-restart-")) : "";
      const target: DatabaseTarget = dir ? { kind: "embedded", dataDir: dir } : database.target;
      try {
        const first = await startServer(target, { sweepIntervalMs: 100 });
        const client = createRsvpClient(first.grpcAddress);
        const catalog = createResourceClient(first.grpcAddress);
        let cursor: string;
        let id: string;
        try {
          await catalog.putResource({
            resource: { id: "room", rules: { releaseAfter: { seconds: 600n } } },
          });
          const made = await client.reserve({
            reservation: {
              userId: "alice",
              resourceId: "room",
              start: minutes(5),
              end: minutes(65),
            },
          });
          id = made.reservation?.id ?? "";
          const l = collectListen(client, { resourceId: "room" });
          cursor = (await l.opened)["rsvp-cursor"] ?? "";
          l.stop();
          assert.notEqual(cursor, "");
        } finally {
          client.close();
          catalog.close();
          await first.close();
        }
        // No server runs while 16 minutes pass: the release falls due (5 + 10) meanwhile.
        const db = await openDb(target);
        try {
          await passTime(db, "room", 16 * 60);
          const [row] = await db.query<{ status: string }>(
            "SELECT status::text AS status FROM rsvp.reservations WHERE id = $1",
            [id],
          );
          assert.equal(row?.status, "pending", "nobody released it while no server ran");
        } finally {
          await db.close();
        }
        const second = await startServer(target, { sweepIntervalMs: 100 });
        const again = createRsvpClient(second.grpcAddress);
        try {
          const l = collectListen(again, { resourceId: "room", cursor });
          const [released] = await l.waitFor(1);
          l.stop();
          assert.equal(released?.op, Op.DELETE);
          assert.equal(released?.reservation?.id, id);
          assert.equal(released?.reservation?.cancelReason, "no-show");
        } finally {
          again.close();
          await second.close();
        }
      } finally {
        await database.drop();
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
