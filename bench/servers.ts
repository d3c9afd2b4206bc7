import type { ChildProcess } from "node:child_process";
import { here, type Processes, waitForLine } from "./processes.js";

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
    },
  );
  const [, address] = await waitForLine(child, /^rsvp serving gRPC on (\S+),/, 120_000);
  return running(procs, child, address ?? "");
}

/** Starts the bare node:http2 server that shows the transport's ceiling. */
export async function startBareServer(procs: Processes): Promise<RunningServer> {
  const child = procs.spawn(process.execPath, [here("./bare-h2-server.js")]);
  const [, port] = await waitForLine(child, /^listening on (\d+)$/, 30_000);
  return running(procs, child, `127.0.0.1:${port}`);
}
