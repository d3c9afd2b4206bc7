// The global options, apart from the calls they configure: `rsvp --version` and `--help` load
// no gRPC.
import { type Command, InvalidArgumentError, Option } from "commander";

/**
 * How a command prints what it got: an aligned table (`wide`: with every column), JSON lines,
 * or only the ids.
 */
export const OUTPUT_FORMATS = ["table", "wide", "json", "id"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The options every client command takes (global: before or after the subcommand). */
export interface ClientOptions {
  readonly server: string;
  readonly output: OutputFormat;
  /** `--json`, the older spelling of `-o json`. */
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

/**
 * An option whose value is one of `choices`, in any case (`--status CONFIRMED`), parsed to
 * its lower-case form.
 */
export function choiceOption(flags: string, description: string, choices: readonly string[]) {
  return new Option(flags, description).choices(choices).argParser((value) => {
    const v = value.toLowerCase();
    if (!choices.includes(v)) {
      throw new InvalidArgumentError(`Allowed choices are ${choices.join(", ")}.`);
    }
    return v;
  });
}

/**
 * Adds the client options to the program itself, so that they are accepted before the
 * subcommand as well as after it: `rsvp -s host:port get ID` and `rsvp get ID -s host:port`.
 */
export function addClientOptions(program: Command): Command {
  return program
    .addOption(
      new Option("-s, --server <host:port>", "rsvp gRPC server")
        .env("RSVP_SERVER")
        .default(DEFAULT_SERVER),
    )
    .addOption(
      choiceOption(
        "-o, --output <format>",
        "table, wide, json (one object per line) or id (one id per line); default table",
        OUTPUT_FORMATS,
      ),
    )
    .addOption(new Option("--json", "the same as -o json").conflicts("output"))
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
    )
    .addOption(
      new Option("--timeout <seconds>", "give up on a call after this long (not for listen)")
        .argParser(positiveSeconds)
        .default(30),
    );
}
