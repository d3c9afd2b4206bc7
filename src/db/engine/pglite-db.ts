import { Worker } from "node:worker_threads";
import { lockDataDir } from "./data-dir-lock.js";
import type { Db, Queryable, QueryOptions, Row } from "./db.js";
import { deserializeError, type WorkerReply, type WorkerRequest } from "./pglite-protocol.js";

type Request = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, "id"> : never) : never;

interface Pending {
  resolve(rows: unknown[] | undefined): void;
  reject(err: unknown): void;
  readonly signal?: AbortSignal | undefined;
}

/** The embedded database's thread stopped while a request waited on it. */
function stoppedError(cause: unknown): Error {
  return Object.assign(new Error("the embedded database stopped", { cause }), {
    code: "CONNECTION_ENDED",
  });
}

/**
 * The service's side of the database thread: sends requests, matches answers to them. The
 * thread keeps the process alive only while a request waits on it, as an idle in-process
 * database would not.
 */
function connect(worker: Worker) {
  const pending = new Map<number, Pending>();
  // Several parts of the service may listen on one channel (the change feed, webhooks): each
  // hears every notification.
  const listeners = new Map<string, Set<() => void>>();
  let nextId = 1;
  let stopped: Error | undefined;
  worker.unref();

  worker.on("message", (reply: WorkerReply) => {
    if (reply.kind === "notify") {
      for (const onNotify of listeners.get(reply.channel) ?? []) onNotify();
      return;
    }
    if (reply.kind === "ready") return;
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (pending.size === 0) worker.unref();
    if (reply.kind === "result") p.resolve(reply.rows);
    else if (reply.kind === "error") p.reject(deserializeError(reply.error));
    else p.reject(p.signal?.reason ?? new Error("cancelled"));
  });
  const fail = (err: unknown) => {
    stopped ??= stoppedError(err);
    for (const p of pending.values()) p.reject(stopped);
    pending.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`exit code ${code}`)));

  function request(id: number, request: Request, signal?: AbortSignal) {
    if (stopped) return Promise.reject(stopped);
    signal?.throwIfAborted();
    return new Promise<unknown[] | undefined>((resolve, reject) => {
      const cancel = () => worker.postMessage({ op: "cancel", id: nextId++, target: id });
      signal?.addEventListener("abort", cancel, { once: true });
      const done = () => signal?.removeEventListener("abort", cancel);
      pending.set(id, {
        resolve: (rows) => {
          done();
          resolve(rows);
        },
        reject: (err) => {
          done();
          reject(err);
        },
        signal,
      });
      if (pending.size === 1) worker.ref();
      worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  return {
    listeners,
    send: (req: Request, signal?: AbortSignal) => request(nextId++, req, signal),
    /** Opens a transaction: resolves to its id once it holds the database. */
    async begin(): Promise<number> {
      const id = nextId++;
      await request(id, { op: "begin" });
      return id;
    },
  };
}

type Connection = ReturnType<typeof connect>;

function queryable(conn: Connection, tx?: number): Queryable {
  return {
    async query<T extends Row>(
      text: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ) {
      const rows = await conn.send({ op: "query", text, params, tx }, options.signal);
      return (rows ?? []) as T[];
    },
    async exec(text: string) {
      await conn.send(tx === undefined ? { op: "exec", text } : { op: "exec", text, tx });
    },
  };
}

/** Starts the database thread and waits until the database is open (or failed to open). */
async function startWorker(dataDir: string, template: string | undefined): Promise<Worker> {
  const worker = new Worker(new URL("./pglite-worker.js", import.meta.url), {
    workerData: { dataDir, template },
  });
  let settle: { onMessage(r: WorkerReply): void; onError(e: Error): void; onExit(c: number): void };
  const ready = await new Promise<WorkerReply>((resolve, reject) => {
    settle = {
      onMessage: resolve,
      onError: reject,
      onExit: (code) => reject(new Error(`the embedded database exited (${code})`)),
    };
    worker.once("message", settle.onMessage);
    worker.once("error", settle.onError);
    worker.once("exit", settle.onExit);
  }).finally(() => {
    worker.off("message", settle.onMessage);
    worker.off("error", settle.onError);
    worker.off("exit", settle.onExit);
  });
  if (ready.kind === "ready" && ready.error) {
    await worker.terminate();
    throw deserializeError(ready.error);
  }
  return worker;
}

/**
 * Opens the embedded database: real Postgres compiled to WebAssembly, on a thread of its own
 * so that its statements never hold the service's event loop. `dataDir` is a directory (data
 * survives restarts) or `memory://`. A directory is locked first, and until the thread has
 * closed it: PGlite itself would let a second process open it, and two processes writing one
 * directory double-book and lose each other's commits.
 *
 * `template` (memory:// only) is an archive of a data directory, as PGlite's `dumpDataDir`
 * writes it: the database starts as a copy of it instead of running initdb (seconds of CPU).
 */
export async function createPgliteDb(dataDir: string, template?: string): Promise<Db> {
  const inMemory = dataDir.startsWith("memory://");
  if (template !== undefined && !inMemory) {
    throw new Error("a template applies to a memory:// database only");
  }
  const lock = inMemory ? undefined : lockDataDir(dataDir);
  let worker: Worker;
  try {
    worker = await startWorker(dataDir, template);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const conn = connect(worker);
  let closing: Promise<void> | undefined;
  return {
    kind: "embedded",
    description: inMemory ? "embedded (in memory)" : `embedded (${dataDir})`,
    ...queryable(conn),
    async transaction(fn) {
      const tx = await conn.begin();
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        result = await fn(queryable(conn, tx));
      } catch (err) {
        // The caller's error says more than a failed rollback (the thread gone) would.
        await conn.send({ op: "end", tx, commit: false }).catch(() => {});
        throw err;
      }
      await conn.send({ op: "end", tx, commit: true });
      return result;
    },
    async listen(channel, onNotify, onListen) {
      // In-process: the connection cannot drop, so onListen runs once. The thread LISTENs once
      // per channel, for every listener of it here.
      const callbacks = conn.listeners.get(channel) ?? new Set<() => void>();
      const first = callbacks.size === 0;
      const mine = () => onNotify();
      callbacks.add(mine);
      conn.listeners.set(channel, callbacks);
      if (first) await conn.send({ op: "listen", channel });
      onListen();
      return {
        async unlisten() {
          if (!callbacks.delete(mine) || callbacks.size > 0) return;
          conn.listeners.delete(channel);
          await conn.send({ op: "unlisten", channel });
        },
      };
    },
    close() {
      closing ??= (async () => {
        try {
          await conn.send({ op: "close" }).catch(() => {});
          worker.ref(); // until the thread is gone and the lock can go
          await exited;
        } finally {
          lock?.release();
        }
      })();
      return closing;
    },
  };
}
