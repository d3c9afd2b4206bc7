import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import { serializeError, type WorkerReply, type WorkerRequest } from "./pglite-protocol.js";
import { createStatementCache, type StatementCache } from "./pglite-statements.js";

// The embedded database's own thread: PGlite runs here, so a statement never holds the
// service's event loop (its timers, its network I/O). Started by createPgliteDb.

if (!parentPort) throw new Error("pglite-worker runs as a worker thread");
const port = parentPort;
const post = (reply: WorkerReply) => port.postMessage(reply);
const { dataDir, template } = workerData as { dataDir: string; template: string | undefined };

/** An open transaction: its handle, and how to end it (commit: resolve; rollback: reject). */
interface OpenTx {
  readonly tx: Transaction;
  readonly end: (commit: boolean) => void;
  /** The id of the `end` request, answered when the transaction is over. */
  endId?: number;
}
const open = new Map<number, OpenTx>();
/** Requests waiting for their turn: a cancel takes one out, so it never runs. */
const waiting = new Set<number>();
const rolledBack = Symbol("rolled back");

// Work outside a transaction runs one piece at a time, in arrival order, a transaction being
// one piece from BEGIN to its end: PGlite is a single session. A request cancelled while it
// waits here is answered "cancelled" and never runs.
let chain: Promise<unknown> = Promise.resolve();
function inTurn(id: number, run: () => Promise<unknown[] | undefined>): void {
  waiting.add(id);
  chain = chain.then(async () => {
    await yieldToMessages();
    if (waiting.delete(id)) await answer(id, run);
    else post({ kind: "cancelled", id });
  });
}

/**
 * Lets the messages that arrived while a statement ran be handled first: a statement holds
 * this thread, so a cancel sent meanwhile is only read now, before the next one starts.
 */
const yieldToMessages = () => new Promise((resolve) => setImmediate(resolve));

async function answer(id: number, run: () => Promise<unknown[] | undefined>): Promise<void> {
  try {
    post({ kind: "result", id, rows: await run() });
  } catch (err) {
    post({ kind: "error", id, error: serializeError(err) });
  }
}

function txOf(id: number): Transaction {
  const t = open.get(id);
  if (!t) throw new Error(`transaction ${id} is not open`);
  return t.tx;
}

/** Holds the database for transaction `id` until its `end` arrives. */
function begin(pg: PGlite, id: number): void {
  waiting.add(id);
  chain = chain.then(async () => {
    await yieldToMessages();
    if (!waiting.delete(id)) return post({ kind: "cancelled", id });
    let entry: OpenTx | undefined;
    try {
      await pg.transaction(
        (tx) =>
          new Promise<void>((resolve, reject) => {
            entry = { tx, end: (commit) => (commit ? resolve() : reject(rolledBack)) };
            open.set(id, entry);
            post({ kind: "result", id });
          }),
      );
      if (entry?.endId !== undefined) post({ kind: "result", id: entry.endId });
    } catch (err) {
      if (entry?.endId === undefined) post({ kind: "error", id, error: serializeError(err) });
      else if (err === rolledBack) post({ kind: "result", id: entry.endId });
      else post({ kind: "error", id: entry.endId, error: serializeError(err) });
    } finally {
      open.delete(id);
    }
  });
}

function handle(pg: PGlite, statements: StatementCache, msg: WorkerRequest): void {
  switch (msg.op) {
    case "query":
    case "exec": {
      const run = async () => {
        const on = msg.tx === undefined ? pg : txOf(msg.tx);
        if (msg.op === "query") return statements.query(msg.text, msg.params, on !== pg);
        try {
          await on.exec(msg.text);
        } finally {
          // A script may change the schema (migrations): no prepared statement outlives it.
          await statements.clear();
        }
        return undefined;
      };
      if (msg.tx === undefined) inTurn(msg.id, run);
      else void answer(msg.id, run);
      break;
    }
    case "begin":
      begin(pg, msg.id);
      break;
    case "end": {
      const t = open.get(msg.tx);
      if (t) {
        t.endId = msg.id;
        t.end(msg.commit);
      } else post({ kind: "error", id: msg.id, error: serializeError("no such transaction") });
      break;
    }
    case "listen":
      inTurn(msg.id, async () => {
        await pg.listen(msg.channel, () => post({ kind: "notify", channel: msg.channel }));
        return undefined;
      });
      break;
    case "unlisten":
      inTurn(msg.id, async () => {
        await pg.unlisten(msg.channel);
        return undefined;
      });
      break;
    case "cancel":
      waiting.delete(msg.target);
      break;
    case "close":
      chain = chain.then(async () => {
        await answer(msg.id, async () => {
          await pg.close();
          return undefined;
        });
        port.close(); // nothing more to do: the thread ends
      });
      break;
  }
}

try {
  const pg = await PGlite.create(dataDir, {
    extensions: { btree_gist },
    ...(template === undefined ? {} : { loadDataDir: new Blob([readFileSync(template)]) }),
  });
  const statements = createStatementCache(pg);
  port.on("message", (msg: WorkerRequest) => handle(pg, statements, msg));
  post({ kind: "ready" });
} catch (err) {
  post({ kind: "ready", error: serializeError(err) });
}
