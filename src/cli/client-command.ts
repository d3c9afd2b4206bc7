import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { type Command, InvalidArgumentError } from "commander";
import {
  type CallOptions,
  createServiceClient,
  RpcError,
  type RsvpClient,
  type ServiceClient,
} from "../client/grpc-client.js";
import type { Micros } from "../domain/reservation.js";
import { ReservationService } from "../gen/reservation/reservation_pb.js";
import type { ClientOptions, OutputFormat } from "./client-options.js";
import { parseDuration } from "./duration-input.js";
import { CliError, Exit, explainRpcError } from "./errors.js";
import {
  type Day,
  type DayWord,
  parseDayInput,
  parseTimeSyntax,
  type TimeInput,
  TimeInputError,
} from "./time-input.js";

export {
  addClientOptions,
  type ClientOptions,
  choiceOption,
  DEFAULT_SERVER,
  OUTPUT_FORMATS,
  type OutputFormat,
} from "./client-options.js";

/** A time option kept unresolved, for commands that resolve it against `--date`. */
export function timeInputArg(value: string): TimeInput {
  return argument(() => parseTimeSyntax(value));
}

/** A day option's parser (`--date`). */
export function dayArg(value: string): Day | DayWord {
  return argument(() => parseDayInput(value));
}

/** A duration option's parser: `90m`, `1h30m`, `2d`. */
export function durationArg(value: string): Micros {
  const us = parseDuration(value);
  if (us === undefined)
    throw new InvalidArgumentError("expected a duration such as 30m, 1h30m or 2d");
  return us;
}

function argument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof TimeInputError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/**
 * Adds a client subcommand. The client options (see {@link addClientOptions}) are copied into
 * its own options before its action runs, with `output` settled (`--json` is `-o json`) and,
 * for commands that run until stopped (`timeout: false`), no timeout.
 */
export function clientCommand(
  program: Command,
  name: string,
  { timeout = true }: { timeout?: boolean } = {},
): Command {
  return program.command(name).hook("preAction", (cmd) => {
    const globals = cmd.optsWithGlobals();
    for (const key of ["server", "token", "tls", "caFile"]) {
      if (globals[key] !== undefined) cmd.setOptionValue(key, globals[key]);
    }
    const output: OutputFormat = globals.json ? "json" : (globals.output ?? "table");
    cmd.setOptionValue("output", output);
    cmd.setOptionValue("json", output === "json");
    cmd.setOptionValue("timeout", timeout ? globals.timeout : undefined);
  });
}

/** Sends the token with every call, streams and reconnects included. */
function bearer(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

function credentials(opts: ClientOptions): grpc.ChannelCredentials {
  if (opts.caFile !== undefined) {
    let ca: Buffer;
    try {
      ca = readFileSync(opts.caFile);
    } catch (err) {
      throw new CliError(
        `--ca-file ${opts.caFile}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`,
        Exit.usage,
      );
    }
    return grpc.credentials.createSsl(ca);
  }
  return opts.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
}

/**
 * Runs `fn` with a client of the chosen server and closes it afterwards. Failed calls become
 * one-line CliErrors; `call` carries the deadline from `--timeout`.
 */
export function withClient<T>(
  opts: ClientOptions,
  fn: (client: RsvpClient, call: CallOptions) => Promise<T>,
  channelOptions: grpc.ChannelOptions = {},
): Promise<T> {
  return withServiceClient(ReservationService, opts, fn, channelOptions);
}

/** {@link withClient} for any of rsvp's services (the resource catalog, for one). */
export async function withServiceClient<S extends DescService, T>(
  service: S,
  opts: ClientOptions,
  fn: (client: ServiceClient<S>, call: CallOptions) => Promise<T>,
  channelOptions: grpc.ChannelOptions = {},
): Promise<T> {
  const creds = credentials(opts);
  const interceptors = opts.token ? [bearer(opts.token)] : [];
  let client: ServiceClient<S>;
  try {
    client = createServiceClient(service, opts.server, creds, { ...channelOptions, interceptors });
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
