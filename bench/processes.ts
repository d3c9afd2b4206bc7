import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Keeps the last few kilobytes a process wrote, for the error message when it dies. */
function tail(limit = 4096) {
  let text = "";
  return {
    add: (chunk: string) => {
      text = (text + chunk).slice(-limit);
    },
    get text() {
      return text;
    },
  };
}

/** Every child the bench starts, so that each one is stopped however the run ends. */
export class Processes {
  private readonly children = new Set<ChildProcess>();

  /** Spawns a tracked child with piped stdio. */
  spawn(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    return child;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.stop(c, 3000)));
  }
}

/**
 * Waits for a line of the child's stdout that matches `pattern` and returns the match. The
 * rest of stdout and stderr keep being drained, so the child never blocks on a full pipe.
 */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  const stderr = tail();
  child.stderr?.setEncoding("utf8").on("data", stderr.add);
  return new Promise((resolve, reject) => {
    let found = false;
    const fail = (why: string) => {
      if (found) return;
      found = true;
      reject(new Error(`${why}\n${stderr.text}`));
    };
    const timer = setTimeout(() => fail(`no ${pattern} within ${timeoutMs} ms`), timeoutMs);
    createInterface({ input: child.stdout ?? process.stdin }).on("line", (line) => {
      const m = line.match(pattern);
      if (m && !found) {
        found = true;
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(`process exited (${code ?? signal}) before printing ${pattern}`);
    });
  });
}

/** Runs a command to completion; rejects on a non-zero exit or after `timeoutMs`. */
export function runCommand(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${command} failed: ${err.message}\n${stderr.slice(-2000)}`))
          : resolve({ stdout, stderr }),
    );
  });
}

/** A path relative to this compiled module (dist/bench). */
export const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** Resident memory of a process in MiB, from /proc (Linux); NaN elsewhere. */
export function rssMiB(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
    return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** A server process the bench started. */
export interface RunningServer {
  /** host:port of its gRPC (or bare HTTP/2) port. */
  readonly address: string;
  readonly pid: number;
  stop(): Promise<void>;
}

function running(procs: Processes, child: ChildProcess, address: string): RunningServer {
  return { address, pid: child.pid ?? -1, stop: () => procs.stop(child) };
}

/** Options of the rsvp service process. */
export interface ServiceOptions {
  readonly databaseUrl: string;
  /** Write a V8 CPU profile of the server into this directory when it stops. */
  readonly cpuProfDir?: string;
}

/**
 * Starts `rsvp serve` as its own process on free ports and waits for its start-up line. It
 * migrates its database on start.
 */
export async function startService(procs: Processes, opts: ServiceOptions): Promise<RunningServer> {
  const flags = opts.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", opts.cpuProfDir] : [];
  // The load generator sends no tokens: authentication stays off (the default on loopback).
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^RSVP_JWT|^RSVP_JWKS/.test(k)),
  );
  const child = procs.spawn(
    process.execPath,
    ["--enable-source-maps", ...flags, here("../src/cli/main.js"), "serve"],
    {
      ...env,
      HOST: "127.0.0.1",
      PORT: "0",
      HTTP_PORT: "0",
      DATABASE_URL: opts.databaseUrl,
      LOG_LEVEL: "warn",
      // The correctness check reads every row back through one query.
      RSVP_MAX_QUERY_ROWS: "100000000",
      // The fan-out row opens 10,000 listens from one address.
      RSVP_MAX_LISTENS_PER_CALLER: "100000",
      RSVP_MAX_LISTENS_PER_PEER: "100000",
      RSVP_MAX_STREAMS_PER_PEER: "100000",
      // The webhook rows deliver to a receiver on this machine.
      RSVP_WEBHOOK_ALLOW_PRIVATE: "1",
    },
  );
  const [, address] = await waitForLine(child, /^rsvp serving gRPC on (\S+),/, 120_000);
  return running(procs, child, address ?? "");
}

/**
 * Starts a bare server that shows a ceiling of the transport: `h2`, node:http2 with no gRPC
 * library; `grpc`, a plain grpc-js server with an empty handler.
 */
export async function startBareServer(
  procs: Processes,
  kind: "h2" | "grpc" = "h2",
): Promise<RunningServer> {
  const script = kind === "h2" ? "./bare-h2-server.js" : "./bare-grpc-server.js";
  const child = procs.spawn(process.execPath, [here(script)]);
  const [, port] = await waitForLine(child, /^listening on (\d+)$/, 30_000);
  return running(procs, child, `127.0.0.1:${port}`);
}
