import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  type CallOptions,
  createServiceClient,
  RpcError,
  type RsvpClient,
  type ServiceClient,
} from "../client/grpc-client.js";
import type { Micros } from "../domain/reservation.js";
import { ReservationService } from "../gen/reservation/reservation_pb.js";
import { CliError, Exit, explainRpcError } from "./errors.js";
import { parseTimeInput, TimeInputError } from "./time-input.js";

/** The options every client command takes. */
export interface ClientOptions {
  readonly server: string;
  readonly json?: boolean;
  /** Seconds; absent on commands that run until stopped. */
  readonly timeout?: number;
  /** A bearer token (JWT) sent with every call. */
  readonly token?: string;
  /** Connect over TLS, trusting the system's certificate authorities. */
  readonly tls?: boolean;
  /** Connect over TLS, trusting this PEM certificate (authority) instead. */
  readonly caFile?: string;
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

/**
 * Adds a client subcommand with `--server`, `--json`, `--token`, `--tls`, `--ca-file` and
 * (unless turned off) `--timeout`.
 */
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
    .option("--json", "print JSON (one object per line) instead of a table")
    .addOption(
      new Option("--token <jwt>", "bearer token for a server with authentication on").env(
        "RSVP_TOKEN",
      ),
    )
    .addOption(new Option("--tls", "connect over TLS").env("RSVP_TLS"))
    .addOption(
      new Option("--ca-file <pem>", "connect over TLS, trusting this certificate").env(
        "RSVP_CA_FILE",
      ),
    );
  if (!timeout) return cmd;
  return cmd.addOption(
    new Option("--timeout <seconds>", "give up on a call after this long")
      .argParser(positiveSeconds)
      .default(30),
  );
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
