// `npm test`: the suites on the embedded database, and on a Postgres server too: the one
// DATABASE_URL names, or a throwaway cluster started here when Postgres is installed.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { startCluster } from "./pg-cluster.mjs";

const files = readdirSync("dist/test")
  .filter((f) => f.endsWith(".test.js"))
  .map((f) => `dist/test/${f}`)
  .filter((f) => process.argv.length <= 2 || process.argv.slice(2).some((a) => f.includes(a)));

let cluster;
let postgres = process.env.DATABASE_URL?.startsWith("postgres") ? "DATABASE_URL" : undefined;
if (!postgres) {
  cluster = await startCluster();
  if (cluster) {
    process.env.DATABASE_URL = cluster.url;
    postgres = `a throwaway cluster (${cluster.version})`;
  }
}

const concurrency = String(Math.max(2, availableParallelism()));
const run = spawnSync(
  process.execPath,
  // --test-force-exit: a test file whose tests have all finished exits even if a timer is
  // still referenced; connections.test.js sometimes stayed alive for good with no socket open
  // after its last test passed, which would hold CI until its time ran out.
  [
    "--enable-source-maps",
    "--test",
    "--test-force-exit",
    `--test-concurrency=${concurrency}`,
    ...files,
  ],
  { stdio: "inherit", env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "silent" } },
);
cluster?.stop();

let code = run.status ?? 1;
if (postgres) {
  console.log(`\nPostgres suites: ran against ${postgres}.`);
} else {
  console.log(
    "\nPostgres suites: NOT RUN. No DATABASE_URL and no Postgres server binaries (initdb, pg_ctl) found;" +
      " only the embedded-database suites ran. Install Debian's postgresql to run them.",
  );
  if (process.env.RSVP_REQUIRE_POSTGRES === "1") {
    console.log("RSVP_REQUIRE_POSTGRES=1: failing because the Postgres suites did not run.");
    code = 1;
  }
}
process.exit(code);
