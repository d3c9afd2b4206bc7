/** A throwaway Postgres cluster of a test's own (scripts/pg-cluster.mjs), to restart at will. */
export interface OwnCluster {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  restart(mode?: "fast" | "immediate"): void;
  /** A streaming standby made with pg_basebackup, following this cluster. */
  addStandby(): Promise<Standby>;
  /** Stops the server as a crash would. */
  kill(): void;
  stop(): void;
}

/** A streaming standby of an {@link OwnCluster}. */
export interface Standby {
  readonly url: string;
  readonly port: number;
  promote(): void;
  stop(): void;
}

interface ClusterModule {
  startCluster(opts?: { settings?: string[] }): Promise<OwnCluster | undefined>;
}

/**
 * Starts a cluster that only this test uses (the shared one must not be restarted under the
 * other suites); undefined when the Postgres binaries are not installed.
 */
export async function startOwnCluster(settings: string[] = []): Promise<OwnCluster | undefined> {
  // The script stays plain .mjs outside the compiled tree: reach it from dist/test/helpers.
  const url = new URL("../../../scripts/pg-cluster.mjs", import.meta.url).href;
  const { startCluster } = (await import(url)) as ClusterModule;
  return startCluster({ settings });
}
