import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The compiled `rsvp` binary (the package's `bin`). */
export const RSVP_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Environment overrides; `undefined` removes a variable. */
export type EnvOverrides = Record<string, string | undefined>;

function environment(overrides: EnvOverrides): NodeJS.ProcessEnv {
  // A fixed zone and no inherited RSVP_SERVER, so output does not depend on the machine.
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: "UTC", LOG_LEVEL: "silent" };
  delete env.RSVP_SERVER;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** How a process ended. */
export interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const running = new Set<CliProcess>();

/** A running `rsvp` process whose output is collected as it comes. */
export class CliProcess {
  stdout = "";
  stderr = "";
  readonly ended: Promise<Ended>;
  private readonly child: ChildProcess;
  private done = false;

  constructor(args: readonly string[], env: EnvOverrides = {}) {
    this.child = spawn(process.execPath, [RSVP_MAIN, ...args], {
      env: environment(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(this);
    this.child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      this.stdout += s;
    });
    this.child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      this.stderr += s;
    });
    this.ended = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.done = true;
        running.delete(this);
        resolve({ code, signal });
      });
    });
  }

  /** The non-empty lines printed to stdout so far. */
  lines(): string[] {
    return this.stdout.split("\n").filter((l) => l !== "");
  }

  /** Resolves once `ready()` holds; fails after `timeoutMs` or if the process ends first. */
  waitFor(what: string, ready: () => boolean, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (ready()) finish();
        else if (this.done) finish(new Error(`rsvp ended before ${what}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.child.stdout?.off("data", check);
        this.child.stderr?.off("data", check);
        this.child.off("close", check);
        if (!err) return resolve();
        reject(new Error(`${err.message}\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`));
      };
      this.child.stdout?.on("data", check);
      this.child.stderr?.on("data", check);
      this.child.on("close", check);
      check();
    });
  }

  /** Sends `signal` and waits for the process to end. */
  stop(signal: NodeJS.Signals = "SIGINT"): Promise<Ended> {
    if (!this.done) this.child.kill(signal);
    return this.ended;
  }
}

/** Runs `rsvp args` to completion (killed after `timeoutMs`). */
export async function runCli(
  args: readonly string[],
  env: EnvOverrides = {},
  timeoutMs = 20_000,
): Promise<Ended & { stdout: string; stderr: string }> {
  const p = new CliProcess(args, env);
  const timer = setTimeout(() => void p.stop("SIGKILL"), timeoutMs);
  const ended = await p.ended;
  clearTimeout(timer);
  return { ...ended, stdout: p.stdout, stderr: p.stderr };
}

/**
 * Starts `rsvp serve` on `port` and waits (up to `timeoutMs`) for its start-up line. Creating
 * and migrating a fresh embedded database takes over 20 s when the machine is busy.
 */
export async function startServe(
  port: number,
  env: EnvOverrides,
  timeoutMs = 60_000,
): Promise<CliProcess> {
  const serve = new CliProcess(["serve"], {
    HOST: "127.0.0.1",
    PORT: String(port),
    HTTP_PORT: "0",
    ...env,
  });
  await serve.waitFor(
    "the server to start",
    () => serve.stdout.includes("rsvp serving gRPC on"),
    timeoutMs,
  );
  return serve;
}

/** Kills every process still running (the after-hook of a suite). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop("SIGKILL")));
}
