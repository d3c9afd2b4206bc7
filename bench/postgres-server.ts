import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";

/** The Postgres server the bench runs against: a throwaway cluster, or DATABASE_URL's. */
export interface PgServer {
  readonly url: string;
  readonly version: string;
  /** The postmaster's pid, when the cluster is the bench's own (its CPU can be measured). */
  readonly postmasterPid?: number;
  /** A fresh database on this server; its URL. */
  createDatabase(name: string): Promise<string>;
  /** Drops the bench's databases (DATABASE_URL) or the whole cluster (throwaway). */
  stop(): Promise<void>;
}

interface Cluster {
  readonly url: string;
  readonly version: string;
  readonly dir: string;
  stop(): void;
}

interface ClusterModule {
  startCluster(opts: { settings?: string[] }): Promise<Cluster | undefined>;
}

// Durability is already off in the throwaway cluster (fsync, synchronous_commit); these keep
// the 1M-row data set in memory and checkpoints out of the measured windows.
const CLUSTER_SETTINGS = ["shared_buffers=512MB", "max_wal_size=4GB", "checkpoint_timeout=30min"];

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Starts a throwaway cluster (scripts/pg-cluster.mjs), or uses DATABASE_URL when it is set. */
export async function startPgServer(): Promise<PgServer> {
  const external = process.env.DATABASE_URL;
  let url: string;
  let version: string;
  let stopCluster = () => {};
  let postmasterPid: number | undefined;
  if (external) {
    url = external;
    version = await admin(url, async (sql) => {
      const [row] = await sql<{ v: string }[]>`SELECT version() AS v`;
      return row?.v ?? "unknown";
    });
  } else {
    // The scripts stay plain .mjs outside the compiled tree: reach them from dist/bench.
    const modUrl = new URL("../../scripts/pg-cluster.mjs", import.meta.url).href;
    const { startCluster } = (await import(modUrl)) as ClusterModule;
    const cluster = await startCluster({ settings: CLUSTER_SETTINGS });
    if (!cluster) {
      throw new Error(
        "Postgres server binaries (initdb, pg_ctl) not found: install postgresql, set DATABASE_URL, or use --embedded",
      );
    }
    url = cluster.url;
    version = cluster.version;
    stopCluster = () => cluster.stop();
    // First line of postmaster.pid; the data directory belongs to the cluster's user.
    const pidFile = readFileSync(join(cluster.dir, "data", "postmaster.pid"), "utf8");
    postmasterPid = Number(pidFile.split("\n")[0]);
  }
  const created: string[] = [];
  return {
    url,
    version,
    ...(postmasterPid ? { postmasterPid } : {}),
    async createDatabase(name) {
      await admin(url, async (sql) => {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name}`);
        await sql.unsafe(`CREATE DATABASE ${name}`);
      });
      created.push(name);
      return withDatabase(url, name);
    },
    async stop() {
      if (external) {
        await admin(url, async (sql) => {
          for (const name of created)
            await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        });
      }
      stopCluster();
    },
  };
}
