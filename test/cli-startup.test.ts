import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { RSVP_MAIN } from "./helpers/cli-process.js";

const TRACE = fileURLToPath(new URL("./helpers/import-trace.js", import.meta.url));

/** Modules a command that makes no call must not load, and one that calls a server neither. */
const GRPC = /@grpc\/grpc-js|\/src\/client\//;
const DATABASE = /@electric-sql\/pglite|\/node_modules\/postgres\/|\/src\/db\/|\/src\/server\//;

describe("CLI start-up loads what the command needs", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "rsvp-imports-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs rsvp with `args` and returns its output and every module it imported. */
  async function traced(name: string, args: string[]) {
    const file = path.join(dir, name);
    const run = spawnSync(process.execPath, ["--import", TRACE, RSVP_MAIN, ...args], {
      env: { ...process.env, RSVP_IMPORT_TRACE: file, RSVP_SERVER: "" },
      encoding: "utf8",
    });
    const modules = (await readFile(file, "utf8")).trim().split("\n");
    return { ...run, modules };
  }

  it("--version loads no gRPC, no database and no command", async () => {
    const run = await traced("version", ["--version"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.ok(
      run.modules.some((m) => m.endsWith("/src/cli/main.js")),
      "the trace saw main.js",
    );
    assert.deepEqual(
      run.modules.filter((m) => GRPC.test(m) || DATABASE.test(m) || /commands\/|commander/.test(m)),
      [],
    );
  });

  it("a client command loads gRPC but no database or server module", async () => {
    // Port 1 refuses at once: the call fails, after everything it needs was loaded.
    const run = await traced("get", ["get", "-s", "127.0.0.1:1", "--timeout", "5", "some-id"]);
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /^rsvp: cannot reach the server at 127\.0\.0\.1:1/);
    assert.ok(
      run.modules.some((m) => /@grpc\/grpc-js/.test(m)),
      "get calls over gRPC",
    );
    assert.deepEqual(
      run.modules.filter((m) => DATABASE.test(m)),
      [],
    );
    assert.deepEqual(
      run.modules.filter((m) => /\/commands\//.test(m) && !/\/(get|by-id)\.js$/.test(m)),
      [],
      "no other command's module",
    );
  });

  it("help lists every command, and says the shared text once", async () => {
    const top = await traced("help", ["--help"]);
    assert.equal(top.status, 0, top.stderr);
    for (const command of ["serve", "reserve", "get", "listen", "resource", "token"]) {
      assert.match(top.stdout, new RegExp(`^  ${command}\\b`, "m"), `${command} is listed`);
    }
    assert.match(top.stdout, /Exit status:/);
    for (const args of [
      ["resource", "--help"],
      ["help", "get"],
      ["resource", "put", "--help"],
    ]) {
      const sub = await traced(args.join("-"), args);
      assert.equal(sub.status, 0, sub.stderr);
      assert.doesNotMatch(
        sub.stdout,
        /Exit status:|Times: ISO/,
        `${args.join(" ")} repeats no footer`,
      );
      assert.match(sub.stdout, /rsvp --help\n$/, `${args.join(" ")} points to it`);
    }
  });
});
