import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createRsvpClient } from "../src/client/grpc-client.js";
import { DataDirInUseError, LOCK_FILE, lockDataDir } from "../src/db/engine/data-dir-lock.js";
import { killAll, runCli, startServe } from "./helpers/cli-process.js";
import { hour } from "./helpers/fixtures.js";
import { freePort } from "./helpers/free-port.js";

const LOCK_MODULE = fileURLToPath(new URL("../src/db/engine/data-dir-lock.js", import.meta.url));

/** A pid that certainly ran and no longer runs: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  assert.ok(child.pid);
  return child.pid;
}

describe("one owner per embedded data directory", () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), "rsvp-lock-"));
    dirs.push(d);
    return d;
  };
  after(async () => {
    await killAll();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("a second serve or migrate on a served directory stops with one line naming it and the holder", async () => {
    const dir = await tempDir();
    const env = { DATABASE_URL: "", RSVP_DATA_DIR: dir };
    const serve = await startServe(await freePort(), env);
    const holder = JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")) as { pid: number };
    for (const args of [["migrate"], ["serve"]]) {
      const second = await runCli(args, { ...env, PORT: "0", HTTP_PORT: "0" });
      assert.notEqual(second.code, 0, `${args[0]} refused`);
      const lines = second.stderr.split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 1, `one line: ${second.stderr}`);
      assert.match(lines[0] ?? "", new RegExp(`${dir}.*in use.*pid ${holder.pid}`));
    }
    // The first server never noticed: it still owns and serves the directory.
    assert.deepEqual(await serve.stop("SIGTERM"), { code: 0, signal: null });
    // A clean stop gives the directory up.
    const third = await runCli(["migrate"], env);
    assert.equal(third.code, 0, third.stderr);
  });

  it("a server killed with SIGKILL leaves a stale lock that the next one takes over, data intact", async () => {
    const dir = await tempDir();
    const env = { DATABASE_URL: "", RSVP_DATA_DIR: dir };
    const port = await freePort();
    let serve = await startServe(port, env);
    const client = createRsvpClient(`127.0.0.1:${port}`);
    try {
      const made = await client.reserve({
        reservation: { userId: "u", resourceId: "kill", start: hour(1), end: hour(2) },
      });
      await serve.stop("SIGKILL");
      const stale = JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")) as { pid: number };
      serve = await startServe(port, env);
      const now = JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")) as { pid: number };
      assert.notEqual(now.pid, stale.pid, "taken over by the new server");
      const got = await client.get({ id: made.reservation?.id ?? "" });
      assert.equal(got.reservation?.id, made.reservation?.id);
      await serve.stop("SIGTERM");
    } finally {
      client.close();
    }
  });

  it("in one process: refused while held, free once released", async () => {
    const dir = await tempDir();
    const lock = lockDataDir(dir);
    assert.throws(
      () => lockDataDir(dir),
      (err: unknown) => err instanceof DataDirInUseError && err.holderPid === process.pid,
    );
    lock.release();
    lockDataDir(dir).release();
  });

  it("a lock from another host is never taken over; a damaged one is", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: "elsewhere.example" }));
    assert.throws(() => lockDataDir(dir), /on elsewhere\.example \(pid 1\)/);
    await writeFile(join(dir, LOCK_FILE), "");
    lockDataDir(dir).release();
  });

  it("of many processes racing to take over one stale lock, exactly one wins", async () => {
    const dir = await tempDir();
    const dead = await deadPid();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname() }));
    // Each child locks, says whether it won, and holds until told to go.
    const script = `
      const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
      try { lockDataDir(${JSON.stringify(dir)}); console.log("won"); }
      catch (e) { console.log(e.name === "DataDirInUseError" ? "refused" : "error " + e.message); }
      process.stdin.resume(); process.stdin.on("end", () => process.exit(0));`;
    const racers = Array.from({ length: 8 }, () =>
      spawn(process.execPath, ["--input-type=module", "-e", script], {
        stdio: ["pipe", "pipe", "inherit"],
      }),
    );
    const answers = await Promise.all(
      racers.map(
        (r) =>
          new Promise<string>((resolve) => {
            let out = "";
            r.stdout.setEncoding("utf8").on("data", (s: string) => {
              out += s;
              if (out.includes("\n")) resolve(out.trim());
            });
          }),
      ),
    );
    for (const r of racers) r.stdin.end();
    await Promise.all(racers.map((r) => new Promise((resolve) => r.once("exit", resolve))));
    assert.equal(answers.filter((a) => a === "won").length, 1, answers.join(","));
    assert.equal(answers.filter((a) => a === "refused").length, 7, answers.join(","));
  });
});
