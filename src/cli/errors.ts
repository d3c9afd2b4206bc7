import { RpcError } from "../client/grpc-client.js";
import { Code, codeName } from "../domain/errors.js";
// Kept apart from the gRPC-aware code below, so a command that makes no call loads no gRPC.
import { CliError, Exit } from "./exit.js";
import { formatLocal, micros } from "./format.js";

export { CliError, Exit };

const NO_ANSWER = new Set<number>([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Internal,
  Code.Unknown,
  Code.Cancelled,
]);

function exitFor(code: Code): Exit {
  if (code === Code.InvalidArgument) return Exit.usage;
  return NO_ANSWER.has(code) ? Exit.unavailable : Exit.refused;
}

const windowText = (start: Parameters<typeof micros>[0], end: Parameters<typeof micros>[0]) => {
  const [s, e] = [micros(start), micros(end)];
  return s === undefined || e === undefined ? "?" : `[${formatLocal(s)}, ${formatLocal(e)})`;
};

/** A failed call's message, without grpc-js's wrapping around a connection failure. */
export function shortReason(err: RpcError): string {
  // "No connection established. Last error: Error: connect ECONNREFUSED …. Resolution note: "
  const cause = /Last error: (?:Error: )?(.*?)(?:\.? Resolution note:.*|\s*\(\d{4}-.*\))?$/.exec(
    err.message,
  )?.[1];
  return cause ?? err.message;
}

/**
 * Refusals whose server wording names the API's fields (`user_id`), retold in the CLI's
 * terms: what the token allows, and which option to change.
 */
const AT_THE_TERMINAL: ReadonlyArray<[RegExp, string]> = [
  [
    /^a user may reserve only for itself\b/,
    "your token lets you reserve only for yourself: leave out --user, or give your own name",
  ],
  [
    /^a user may list only its own reservations\b/,
    "your token lets you see only your own reservations: leave out --user, or give your own name",
  ],
];

/** What a failed call means to the person who typed the command. */
export function explainRpcError(err: RpcError, server: string, timeoutSeconds?: number): CliError {
  const c = err.conflict;
  // A single resource's clash is retold in local time; a pool's ("no resource of pool …")
  // says more as the server put it. A counted resource's says how many units are left.
  if (err.code === Code.AlreadyExists && c && / units asked for free /.test(err.message)) {
    return new CliError(
      `resource ${JSON.stringify(c.resourceId)} has only ${c.free} units free throughout ` +
        windowText(c.requestedStart, c.requestedEnd),
      Exit.refused,
    );
  }
  if (err.code === Code.AlreadyExists && c && err.message.startsWith("resource ")) {
    return new CliError(
      `resource ${JSON.stringify(c.resourceId)} is already reserved for ` +
        `${windowText(c.existingStart, c.existingEnd)} (requested ${windowText(c.requestedStart, c.requestedEnd)})`,
      Exit.refused,
    );
  }
  if (err.code === Code.Unavailable && err.answered) {
    // The server is there; what it cannot reach (its database) or is doing (shutting down)
    // is in its message.
    return new CliError(
      `the server at ${server} answered but cannot serve the request: ${err.message}`,
      Exit.unavailable,
    );
  }
  if (err.code === Code.Unavailable) {
    return new CliError(
      `cannot reach the server at ${server}: ${shortReason(err)}`,
      Exit.unavailable,
    );
  }
  if (err.code === Code.PermissionDenied) {
    const retold = AT_THE_TERMINAL.find(([server]) => server.test(err.message))?.[1];
    if (retold) return new CliError(retold, Exit.refused);
  }
  if (err.code === Code.Unauthenticated) {
    return new CliError(
      `${err.message} (pass --token or set RSVP_TOKEN; \`rsvp token\` mints one for development)`,
      Exit.refused,
    );
  }
  if (err.code === Code.DeadlineExceeded && timeoutSeconds !== undefined) {
    return new CliError(
      `no answer from ${server} within ${timeoutSeconds}s (--timeout)`,
      Exit.unavailable,
    );
  }
  return new CliError(err.message || codeName(err.code), exitFor(err.code));
}

/** Any failure as a CliError: the one shape main reports. */
export function toCliError(err: unknown, server?: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof RpcError) return explainRpcError(err, server ?? "the server");
  return new CliError(err instanceof Error ? err.message : String(err), Exit.usage);
}
