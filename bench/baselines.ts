import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "./processes.js";
import { histogram, percentiles } from "./recorder.js";

/** A rate and its latencies (ms), as every baseline reports it. */
export interface Measured {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

/** An executable on PATH or in the newest /usr/lib/postgresql/<v>/bin. */
export function findBinary(name: string): string | undefined {
  const which = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
    const p = join(root, v, "bin", name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

const WINDOW = `'2030-01-01T00:00:00Z', '2030-01-01T01:00:00Z'`;

/**
 * The DB limit without the project's extras: the same columns, only the exclusion constraint
 * (no primary key, no secondary index, no trigger).
 */
export const BARE_TABLE_DDL = `
  CREATE TABLE IF NOT EXISTS bench_bare (
    id uuid NOT NULL,
    user_id varchar(64) NOT NULL,
    status rsvp.reservation_status NOT NULL,
    resource_id varchar(64) NOT NULL,
    timespan tstzrange NOT NULL,
    note text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    EXCLUDE USING gist (resource_id WITH =, timespan WITH &&) WHERE (status <> 'cancelled')
  )`;

/**
 * One reservation each, on a resource of its own named by `r` (an SQL text expression).
 * `reserve` is the service's own function, rsvp.reserve, with a one-element batch (only its
 * input format is relied on: whatever it returns is read back whole); the inserts are the same
 * row into the project's table (triggers and all) and into the bare table.
 */
export function limitStatements(r: string) {
  return {
    reserve: `SELECT * FROM rsvp.reserve(jsonb_build_array(jsonb_build_object(
  'id', gen_random_uuid(), 'user_id', 'bench', 'resource_id', 'pgb-' || ${r}, 'status', 'pending',
  'start_at', '2030-01-01T00:00:00Z', 'end_at', '2030-01-01T01:00:00Z', 'note', '')))`,
    insertOwn: `INSERT INTO rsvp.reservations (id, user_id, status, resource_id, timespan, note)
VALUES (gen_random_uuid(), 'bench', 'pending', 'pgi-' || ${r}, tstzrange(${WINDOW}, '[)'), '')
ON CONFLICT DO NOTHING RETURNING id`,
    insertBare: `INSERT INTO bench_bare (id, user_id, status, resource_id, timespan, note)
VALUES (gen_random_uuid(), 'bench', 'pending', 'pgb-' || ${r}, tstzrange(${WINDOW}, '[)'), '')
ON CONFLICT DO NOTHING RETURNING id`,
  };
}

/** The limit statements as pgbench scripts, each on a random resource among 10^12. */
export function pgbenchScript(statement: string): string {
  return `\\set r random(1, 1000000000000)\n${statement};\n`;
}

/** What a full `query` of one resource amounts to, as one statement. */
export const queryScript = (resourceId: string) =>
  `SELECT * FROM rsvp.reservations
 WHERE resource_id = '${resourceId}' AND status <> 'cancelled'
 ORDER BY lower(timespan), id;
`;

/** How a pgbench run is driven. */
export interface PgbenchRun {
  readonly clients: number;
  readonly threads: number;
  /** -T seconds, or -t transactions per client. */
  readonly seconds?: number;
  readonly transactions?: number;
}

/** p50/p99 (ms) of pgbench's per-transaction logs (client, transaction, latency in µs, ...). */
function logLatency(dir: string, base: string) {
  const h = histogram();
  for (const file of readdirSync(dir).filter((f) => f.startsWith(`${base}.`))) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      const v = Number(line.split(/\s+/)[2]);
      if (line && Number.isFinite(v)) h.recordValue(v);
    }
    rmSync(join(dir, file));
  }
  return percentiles(h);
}

let runs = 0;

/** Runs `pgbench -n -M prepared` with one custom script; transactions per second. */
export async function pgbench(
  bin: string,
  url: string,
  script: string,
  run: PgbenchRun,
  workDir: string,
): Promise<Measured> {
  const base = `pgbench-${++runs}`;
  const file = join(workDir, `${base}.sql`);
  writeFileSync(file, script);
  const limit =
    run.seconds !== undefined ? ["-T", String(run.seconds)] : ["-t", String(run.transactions ?? 1)];
  const { stdout } = await runCommand(
    bin,
    [
      "-n",
      "-M",
      "prepared",
      "-c",
      String(run.clients),
      "-j",
      String(run.threads),
      ...limit,
      "-f",
      file,
      "-l",
      `--log-prefix=${join(workDir, base)}`,
      url,
    ],
    ((run.seconds ?? 60) + 60) * 1000,
  );
  const tps = stdout.match(/tps = ([\d.]+) \(without initial connection time\)/);
  if (!tps?.[1]) throw new Error(`unexpected pgbench output:\n${stdout}`);
  return { rate: Number(tps[1]), ...logLatency(workDir, base) };
}

/**
 * Drives an empty gRPC unary call (grpc.health.v1.Health/Check, a zero-length message) with
 * h2load over h2c: 4 connections × 16 streams, one thread.
 */
export async function h2load(
  bin: string,
  address: string,
  durationMs: number,
  warmupMs: number,
  workDir: string,
): Promise<Measured> {
  const body = join(workDir, "empty-grpc-frame.bin");
  writeFileSync(body, Buffer.alloc(5));
  const log = join(workDir, `h2load-${++runs}.log`);
  const { stdout } = await runCommand(
    bin,
    [
      "-c",
      "4",
      "-m",
      "16",
      "-t",
      "1",
      "-D",
      `${durationMs}ms`,
      `--warm-up-time=${warmupMs}ms`,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      "-d",
      body,
      `--log-file=${log}`,
      `http://${address}/grpc.health.v1.Health/Check`,
    ],
    durationMs + warmupMs + 60_000,
  );
  const rate = stdout.match(/finished in [^,]+, ([\d.]+) req\/s/);
  const failed = stdout.match(/requests: .* (\d+) failed/);
  if (!rate?.[1] || failed?.[1] !== "0") throw new Error(`h2load did not succeed:\n${stdout}`);
  // Log: start time (µs since epoch), HTTP status, duration (µs).
  const h = histogram();
  for (const line of readFileSync(log, "utf8").split("\n")) {
    const v = Number(line.split("\t")[2]);
    if (line && Number.isFinite(v)) h.recordValue(v);
  }
  rmSync(log);
  return { rate: Number(rate[1]), ...percentiles(h) };
}
