// `npm test`: the suites on the embedded database, and on a Postgres server too: the one
// DATABASE_URL names, or a throwaway cluster started here when Postgres is installed.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { startCluster } from "./pg-cluster.mjs";

// The longest suites (30–65 s each on two cores; most others take under 20) start first, so
// that none of them is left running alone at the end while the other workers sit idle.
const LONGEST = [
  "cli",
  "web",
  "web-screens",
  "cli-human",
  "webhook-processes",
  "cli-server",
  "web-catalog",
  "booking",
  "lifecycle",
  "web-flows",
  "cli-bookings",
  "fuzz-framing",
  "connections",
  "cli-lifecycle",
  "webhook",
  "cli-quota",
];
const rank = (f) => {
  const i = LONGEST.indexOf(f.replace(/\.test\.js$/, ""));
  return i === -1 ? LONGEST.length : i;
};

const files = readdirSync("dist/test")
  // A test file deleted or renamed since the last build leaves its compiled copy behind.
  .filter((f) => f.endsWith(".test.js") && existsSync(`test/${f.replace(/\.js$/, ".ts")}`))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
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

// One test file per core. A third file on two cores kept them busier (160% of 200% against
// 130%), yet a fresh CI run with it still took 13 min 15 s, and it leaves the
// timing-sensitive suites less CPU on a machine that may be busy anyway.
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
