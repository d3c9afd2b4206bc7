import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createRsvpClient, type RsvpClient } from "../src/client/grpc-client.js";
import type { Db } from "../src/db/engine/db.js";
import { openDb } from "../src/db/engine/open.js";
import { killAll, startServe } from "./helpers/cli-process.js";
import { hour } from "./helpers/fixtures.js";
import { freePort } from "./helpers/free-port.js";

describe("the embedded database runs on a thread of its own", () => {
  let db: Db;
  before(async () => {
    db = await openDb({ kind: "embedded", dataDir: "memory://" });
    await db.exec("CREATE TABLE marks (n int)");
  });
  after(() => db.close());

  it("a timer of the service fires while a statement runs", async () => {
    let statementDone = false;
    let firedDuringStatement: boolean | undefined;
    const statement = db.query("SELECT pg_sleep(2)").then(() => {
      statementDone = true;
    });
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        firedDuringStatement = !statementDone;
        resolve();
      }, 20),
    );
    await statement;
    assert.equal(firedDuringStatement, true, "the 20 ms timer waited for the 2 s statement");
  });

  it("every listener of a channel hears each notification, and one leaving leaves the rest", async () => {
    const heard = { feed: 0, webhooks: 0 };
    const notified = (who: keyof typeof heard) => () => {
      heard[who]++;
    };
    const feed = await db.listen("both_hear", notified("feed"), () => {});
    const webhooks = await db.listen("both_hear", notified("webhooks"), () => {});
    // Answered after the notification is delivered: the thread posts it before the result.
    await db.query("SELECT pg_notify('both_hear', '')");
    assert.deepEqual(heard, { feed: 1, webhooks: 1 });
    await webhooks.unlisten();
    await db.query("SELECT pg_notify('both_hear', '')");
    assert.deepEqual(heard, { feed: 2, webhooks: 1 });
    await feed.unlisten();
  });

  it("a statement whose caller gave up while it waited never runs", async () => {
    const busy = db.query("SELECT pg_sleep(1)");
    const gaveUp = new AbortController();
    const waiting = db.query("INSERT INTO marks VALUES (1)", [], { signal: gaveUp.signal });
    gaveUp.abort(new Error("deadline passed"));
    await assert.rejects(waiting, /deadline passed/);
    await busy;
    const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM marks");
    assert.equal(row?.n, 0);
  });

  it("carries errors across with their SQLSTATE, and transactions roll back whole", async () => {
    await assert.rejects(db.query("SELECT 1/0"), { code: "22012" });
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO marks VALUES (2)");
        await tx.query("SELECT 1/0");
      }),
      { code: "22012" },
    );
    const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM marks");
    assert.equal(row?.n, 0);
  });
});

describe("a server killed with SIGKILL mid-load kept every reservation it acknowledged", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rsvp-kill-"));
  });
  after(async () => {
    await killAll();
    await rm(dir, { recursive: true, force: true });
  });

  it("every acknowledged reserve is there after the restart", async () => {
    const env = { DATABASE_URL: "", RSVP_DATA_DIR: dir };
    const port = await freePort();
    let serve = await startServe(port, env);
    const client: RsvpClient = createRsvpClient(`127.0.0.1:${port}`);
    const acked: string[] = [];
    let n = 0;
    let killed = false;
    let enough: () => void = () => {};
    const enoughAcked = new Promise<void>((resolve) => {
      enough = resolve;
    });
    // Eight callers reserving without pause; the kill lands while their calls are in flight.
    const callers = Array.from({ length: 8 }, async () => {
      while (!killed) {
        const i = n++;
        try {
          const made = await client.reserve({
            reservation: { userId: "u", resourceId: `k-${i}`, start: hour(1), end: hour(2) },
          });
          acked.push(made.reservation?.id ?? "");
          if (acked.length >= 200) enough();
        } catch {
          // The calls the kill cut were never acknowledged.
        }
      }
    });
    try {
      await enoughAcked;
      await serve.stop("SIGKILL");
      killed = true;
      await Promise.all(callers);
      serve = await startServe(port, env);
      // A connection of its own: the callers' one is backing off from the refused calls.
      const reader = createRsvpClient(`127.0.0.1:${port}`, undefined, {
        "grpc.use_local_subchannel_pool": 1,
      });
      try {
        for (const id of acked) {
          const got = await reader.get({ id });
          assert.equal(got.reservation?.id, id);
        }
      } finally {
        reader.close();
      }
      await serve.stop("SIGTERM");
    } finally {
      killed = true;
      client.close();
    }
  });
});
