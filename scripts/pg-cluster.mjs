// Starts a throwaway Postgres cluster (initdb + pg_ctl) in a temporary directory, on a free
// port, for tests and benchmarks. As root it runs the server as the `postgres` user.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function findBin(name) {
  const which = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const p = join(root, v, "bin", name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/** Starts a cluster; undefined when Postgres is not installed. */
export async function startCluster({ settings = [] } = {}) {
  const initdb = findBin("initdb");
  const pgCtl = findBin("pg_ctl");
  if (!initdb || !pgCtl) return undefined;
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "rsvp-pg-"));
  const data = join(dir, "data");
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const as = (cmd, args) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "pipe" })
      : execFileSync(cmd, args, { stdio: "pipe" });
  as(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const opts = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c max_connections=300",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    ...settings.map((s) => `-c ${s}`),
  ].join(" ");
  as(pgCtl, ["-D", data, "-o", opts, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
  const version = execFileSync(findBin("postgres") ?? "postgres", ["--version"], {
    encoding: "utf8",
  }).trim();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    version,
    dir,
    /** Restarts the server: "fast" (clean shutdown) or "immediate" (a crash, then recovery). */
    restart(mode = "fast") {
      as(pgCtl, ["-D", data, "-m", mode, "-l", join(dir, "log"), "-w", "-t", "60", "restart"]);
    },
    /**
     * A streaming standby of this cluster, copied with pg_basebackup (-R: it follows this one),
     * on a port of its own. `promote()` makes it a primary; `stop()` ends and removes it.
     */
    async addStandby() {
      const standbyData = join(dir, "standby");
      const basebackup = findBin("pg_basebackup");
      if (!basebackup) throw new Error("pg_basebackup not found");
      as(basebackup, [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "-D",
        standbyData,
        "-R",
        "-X",
        "stream",
        // Its default, a spread checkpoint, paces the copy's start over minutes.
        "--checkpoint=fast",
      ]);
      const standbyPort = await freePort();
      const standbyOpts = opts.replace(`-p ${port}`, `-p ${standbyPort}`);
      const log = join(dir, "standby.log");
      as(pgCtl, ["-D", standbyData, "-o", standbyOpts, "-l", log, "-w", "-t", "60", "start"]);
      return {
        url: `postgres://postgres@127.0.0.1:${standbyPort}/postgres`,
        port: standbyPort,
        promote() {
          as(pgCtl, ["-D", standbyData, "-w", "-t", "60", "promote"]);
        },
        stop() {
          as(pgCtl, ["-D", standbyData, "-m", "immediate", "-w", "stop"]);
        },
      };
    },
    /** Stops the server as a crash would, keeping its files (stop() removes them). */
    kill() {
      as(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]);
    },
    stop() {
      try {
        if (existsSync(join(data, "postmaster.pid"))) {
          as(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

// CLI: `node scripts/pg-cluster.mjs` starts one, prints its URL and stops it on SIGTERM/SIGINT.
if (import.meta.url === `file://${process.argv[1]}`) {
  const cluster = await startCluster();
  if (!cluster) {
    console.error("Postgres server binaries (initdb, pg_ctl) not found");
    process.exit(1);
  }
  console.log(cluster.url);
  const stop = () => {
    cluster.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  setInterval(() => {}, 1 << 30);
}
