import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { createRsvpClient } from "../src/client/grpc-client.js";
import { migrate } from "../src/db/engine/migrate.js";
import { openDb } from "../src/db/engine/open.js";
import type { App } from "../src/server/app.js";
import { cursorAt } from "./helpers/cursors.js";
import { memoryTarget } from "./helpers/embedded-template.js";
import { collect, hour, rejectsWith } from "./helpers/fixtures.js";
import { startServer } from "./helpers/harness.js";

/** Runs `body` against an app serving `dataDir`, then closes both. */
async function serving<T>(dataDir: string, body: (app: App) => Promise<T>): Promise<T> {
  const app = await startServer({ kind: "embedded", dataDir });
  try {
    return await body(app);
  } finally {
    await app.close();
  }
}

describe("a copied embedded data directory has an identity of its own", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("the original's cursors are refused by the copy, and still accepted by the original", async () => {
    const root = await mkdtemp(join(tmpdir(), "rsvp-copy-"));
    dirs.push(root);
    const original = join(root, "original");
    const copy = join(root, "copy");
    const cursor = await serving(original, async (app) => {
      const client = createRsvpClient(app.grpcAddress);
      try {
        await client.reserve({
          reservation: { userId: "u", resourceId: "copied", start: hour(1), end: hour(2) },
        });
      } finally {
        client.close();
      }
      return cursorAt(app);
    });
    await cp(original, copy, { recursive: true });

    await serving(copy, async (app) => {
      const client = createRsvpClient(app.grpcAddress);
      try {
        const err = await rejectsWith(collect(client.listen({ cursor })), status.INVALID_ARGUMENT);
        assert.match(err.message, /another database/);
        // The copy's own cursors work: it is a database in its own right.
        const own = await cursorAt(app);
        assert.notEqual(own, cursor);
        const stream = client.listen({ cursor: own });
        await stream.opened;
        stream.cancel();
      } finally {
        client.close();
      }
    });

    await serving(original, async (app) => {
      assert.equal(await cursorAt(app), cursor, "a restart keeps the identity");
    });
  });
});

describe("memory databases started from one template are copies with identities of their own", () => {
  it("each is migrated already, and refuses the cursors of the others", async () => {
    const target = await memoryTarget();
    const first = await startServer(target);
    const second = await startServer(target);
    try {
      assert.deepEqual(await migrate(first.db), [], "the template holds every migration");
      const client = createRsvpClient(second.grpcAddress);
      try {
        const err = await rejectsWith(
          collect(client.listen({ cursor: await cursorAt(first) })),
          status.INVALID_ARGUMENT,
        );
        assert.match(err.message, /another database/);
      } finally {
        client.close();
      }
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("a template is refused for a database on disk", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rsvp-template-dir-"));
    try {
      const template = (await memoryTarget()).template;
      await assert.rejects(
        openDb({ kind: "embedded", dataDir: dir, template }),
        /memory:\/\/ database only/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
