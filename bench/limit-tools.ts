import { findBinary } from "./baselines.js";

/** A program some limit rows come from, and how to install it. */
export interface LimitTool {
  readonly name: string;
  /** The rows measured with it: without it they are missing from the table. */
  readonly rows: readonly string[];
  /** The command that installs it on Debian and Ubuntu. */
  readonly install: string;
}

/** h2load drives the empty rpc: the transport's limits and rsvp's own. */
export const H2LOAD: LimitTool = {
  name: "h2load",
  rows: ["empty-bare", "empty-grpc", "empty-rsvp"],
  install: "sudo apt-get install nghttp2-client",
};

/** pgbench runs the database's limit statements. */
export const PGBENCH: LimitTool = {
  name: "pgbench",
  rows: ["db-insert-bare", "db-insert-own", "db-reserve", "query-select"],
  install: "sudo apt-get install postgresql-client",
};

/** What the report says when `tool` is missing. */
export function missingToolNote(tool: LimitTool): string {
  return `${tool.name} not found: no ${tool.rows.join(", ")} rows (install it: ${tool.install})`;
}

/**
 * The tool's path, or undefined after noting (in `notes`, and in the log at once, so that the
 * missing rows are known before a run of minutes) that it is missing.
 */
export function findTool(
  tool: LimitTool,
  notes: string[],
  log: (message: string) => void,
): string | undefined {
  const path = findBinary(tool.name);
  if (path) return path;
  const note = missingToolNote(tool);
  notes.push(note);
  log(`note: ${note}`);
  return undefined;
}
