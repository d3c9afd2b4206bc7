import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import postgres from "postgres";
import { resumableListen } from "../../src/cli/resumable-listen.js";
import { createRsvpClient, RpcError, type RsvpClient } from "../../src/client/grpc-client.js";
import { ReservationUpdateType as Op } from "../../src/gen/reservation/reservation_pb.js";
import { type App, startApp } from "../../src/server/app.js";
import { hour } from "./fixtures.js";
import { captureLog, type LogLine } from "./harness.js";

/** Writers and a resuming listener, running while a test does harm to the database. */
export interface Workload {
  /** Ids of the reservations acknowledged to the writers. */
  readonly acknowledged: Set<string>;
  /** Ids of the creates the listener heard, in order, repeats included. */
  readonly heard: string[];
  /** Every error code a writer or the listener met (OK: a stream that just ended). */
  readonly errors: number[];
  /** What the client was told with each error other than UNAVAILABLE. */
  readonly unexpected: readonly string[];
  /** The server's error-level log: the cause behind an INTERNAL, which the caller never sees. */
  readonly serverErrors: readonly LogLine[];
  /** Resolves when every writer has had all its reservations acknowledged. */
  readonly written: Promise<void>;
  /** Waits until every acknowledged create was heard (or `timeoutMs`), then stops listening. */
  drain(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `writers` writers, each reserving `perWriter` windows of its own resource with one
 * idempotency key per reservation and retrying UNAVAILABLE (a retry after a lost answer gets
 * the first attempt's reservation), and one listener that resumes from its cursor.
 */
export async function startWorkload(
  { client, serverErrors }: Served,
  opts: { userId: string; writers: number; perWriter: number },
): Promise<Workload> {
  const acknowledged = new Set<string>();
  const heard: string[] = [];
  const errors: number[] = [];
  const unexpected: string[] = [];
  const listening = new AbortController();
  let opened!: () => void;
  const firstOpen = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const listener = (async () => {
    const events = resumableListen(
      client,
      { resourceId: "", userId: opts.userId, cursor: "" },
      {
        signal: listening.signal,
        onOpen: () => opened(),
        onRetry: (err) => {
          errors.push(err?.code ?? status.OK);
          if (err && err.code !== status.UNAVAILABLE) unexpected.push(`listen: ${err.message}`);
        },
      },
    );
    for await (const e of events) {
      if (e.op === Op.CREATE && e.reservation) heard.push(e.reservation.id);
    }
  })();
  await firstOpen;

  const writer = async (w: number) => {
    for (let i = 0; i < opts.perWriter; i++) {
      const req = {
        reservation: {
          userId: opts.userId,
          resourceId: `${opts.userId}-${w}`,
          start: hour(i),
          end: hour(i + 1),
        },
        requestId: `w${w}-${i}`,
      };
      for (;;) {
        try {
          const { reservation } = await client.reserve(req, { deadlineMs: 30_000 });
          if (!reservation) throw new Error("reserve answered without a reservation");
          acknowledged.add(reservation.id);
          break;
        } catch (err) {
          if (!(err instanceof RpcError)) throw err;
          errors.push(err.code);
          if (err.code !== status.UNAVAILABLE) {
            unexpected.push(`reserve: ${err.message}`);
            // Also in full on stderr: the test runner cuts a failure's message at a few kB.
            console.error(`rsvp server's logged causes: ${causes(serverErrors)}`);
            throw new Error(`${err.message}; server errors: ${causes(serverErrors)}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  };
  const written = Promise.all(Array.from({ length: opts.writers }, (_, w) => writer(w))).then(
    () => undefined,
  );
  return {
    acknowledged,
    heard,
    errors,
    serverErrors,
    unexpected,
    written,
    async drain(timeoutMs = 60_000) {
      const giveUp = Date.now() + timeoutMs;
      while (new Set(heard).size < acknowledged.size && Date.now() < giveUp) {
        await new Promise((r) => setTimeout(r, 50));
      }
      listening.abort();
      await listener;
    },
  };
}

/**
 * The claims on a finished {@link Workload}: every acknowledged reservation is stored on the
 * database at `url` (and nothing else of `userId`'s), every acknowledged create was heard
 * exactly once, and the only error anyone met was UNAVAILABLE.
 */
export async function assertNothingLost(
  url: string,
  userId: string,
  work: Workload,
  expected: number,
): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ id: string }[]>`
      SELECT id::text FROM rsvp.reservations WHERE user_id = ${userId}`;
    const stored = new Set(rows.map((r) => r.id));
    assert.equal(work.acknowledged.size, expected);
    for (const id of work.acknowledged) assert.ok(stored.has(id), `acknowledged ${id} stored`);
    assert.equal(stored.size, work.acknowledged.size, "no stray rows: retries replayed");
  } finally {
    await sql.end();
  }
  await work.drain();
  const heard = new Set(work.heard);
  assert.deepEqual(
    heard,
    work.acknowledged,
    // What the listener met says why it stopped short: a stream silent for good or failing.
    `every acknowledged create heard (${heard.size} of ${work.acknowledged.size}); listen and reserve errors: ${JSON.stringify(work.errors)} ${JSON.stringify(work.unexpected)}; server errors: ${causes(work.serverErrors)}`,
  );
  assert.equal(work.heard.length, work.acknowledged.size, "each once");
  assert.deepEqual(
    [...new Set(work.errors)].filter((code) => code !== status.UNAVAILABLE && code !== status.OK),
    [],
    `errors only UNAVAILABLE (or a stream that ended): ${JSON.stringify(work.unexpected)}; server errors: ${causes(work.serverErrors)}`,
  );
}

/**
 * The server's logged causes, without the one-line summary of each failed rpc (those only say
 * UNAVAILABLE, and crowd the cause out of a message the test runner cuts at a few kB).
 */
const causes = (lines: readonly LogLine[]) => JSON.stringify(lines.filter((l) => l.msg !== "rpc"));

/** An rsvp server, a client of it, and the server's error-level log lines. */
export interface Served {
  readonly app: App;
  readonly client: RsvpClient;
  readonly serverErrors: readonly LogLine[];
}

/** An rsvp server on the Postgres at `url`, and a client of it. */
export async function serveOn(url: string): Promise<Served> {
  const captured = captureLog("error");
  const app = await startApp({
    config: {
      host: "127.0.0.1",
      port: 0,
      httpPort: 0,
      database: { kind: "postgres", url },
      retentionSeconds: 3600,
    },
    log: captured.log,
    feed: { pollIntervalMs: 200 },
  });
  return { app, client: createRsvpClient(app.grpcAddress), serverErrors: captured.lines };
}
