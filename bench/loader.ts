import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { here, type Processes } from "./processes.js";
import type { Task } from "./tasks.js";

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

/** The harness's handle on one load-generator process (bench/load.ts). */
export class Loader {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderr = "";

  private constructor(
    private readonly procs: Processes,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4096);
    });
    createInterface({ input: child.stdout ?? process.stdin }).on("line", (line) => {
      const msg = JSON.parse(line) as { id: number; result?: unknown; error?: string };
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(`load generator: ${msg.error}`));
      else p?.resolve(msg.result);
    });
    child.once("exit", (code, signal) => {
      for (const p of this.pending.values()) {
        p.reject(new Error(`load generator exited (${code ?? signal})\n${this.stderr}`));
      }
      this.pending.clear();
    });
  }

  /** Starts a load-generator process. */
  static start(procs: Processes): Loader {
    const child = procs.spawn(process.execPath, ["--enable-source-maps", here("./load.js")]);
    return new Loader(procs, child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Runs one task; rejects if it fails or takes longer than `timeoutMs`. */
  run<T>(task: Task, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load task ${task.kind} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin?.write(`${JSON.stringify({ id, task })}\n`);
    });
  }

  async stop(): Promise<void> {
    this.child.stdin?.end();
    await this.procs.stop(this.child, 5000);
  }
}
