import type { ChannelOptions } from "@grpc/grpc-js";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  type CallOptions,
  createRsvpClient,
  RpcError,
  type RsvpClient,
} from "../client/grpc-client.js";
import type { Micros } from "../domain/reservation.js";
import { CliError, Exit, explainRpcError } from "./errors.js";
import { parseTimeInput, TimeInputError } from "./time-input.js";

/** The options every client command takes. */
export interface ClientOptions {
  readonly server: string;
  readonly json?: boolean;
  /** Seconds; absent on commands that run until stopped. */
  readonly timeout?: number;
}

/** The server used when neither `--server` nor `RSVP_SERVER` names one. */
export const DEFAULT_SERVER = "127.0.0.1:50051";

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected seconds > 0");
  return n;
}

/** A time option's parser: ISO 8601 to exact microseconds, or commander's one-line error. */
export function timeArg(value: string): Micros {
  try {
    return parseTimeInput(value);
  } catch (err) {
    if (err instanceof TimeInputError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** Adds a client subcommand with `--server`, `--json` and (unless turned off) `--timeout`. */
export function clientCommand(
  program: Command,
  name: string,
  { timeout = true }: { timeout?: boolean } = {},
): Command {
  const cmd = program
    .command(name)
    .addOption(
      new Option("-s, --server <host:port>", "rsvp gRPC server")
        .env("RSVP_SERVER")
        .default(DEFAULT_SERVER),
    )
    .option("--json", "print JSON (one object per line) instead of a table");
  if (!timeout) return cmd;
  return cmd.addOption(
    new Option("--timeout <seconds>", "give up on a call after this long")
      .argParser(positiveSeconds)
      .default(30),
  );
}

/**
 * Runs `fn` with a client of the chosen server and closes it afterwards. Failed calls become
 * one-line CliErrors; `call` carries the deadline from `--timeout`.
 */
export async function withClient<T>(
  opts: ClientOptions,
  fn: (client: RsvpClient, call: CallOptions) => Promise<T>,
  channelOptions?: ChannelOptions,
): Promise<T> {
  let client: RsvpClient;
  try {
    client = createRsvpClient(opts.server, undefined, channelOptions);
  } catch (err) {
    throw new CliError(`--server ${opts.server}: ${(err as Error).message}`, Exit.usage);
  }
  try {
    return await fn(client, opts.timeout ? { deadlineMs: opts.timeout * 1000 } : {});
  } catch (err) {
    throw err instanceof RpcError ? explainRpcError(err, opts.server, opts.timeout) : err;
  } finally {
    client.close();
  }
}
