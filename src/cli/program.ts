import { Command, CommanderError } from "commander";
import { addClientOptions } from "./client-options.js";
import { Exit } from "./exit.js";

/**
 * Every subcommand, one module each, imported only when it runs: people call rsvp in loops,
 * and `--version` or `get` should not pay for loading the server, the database or (for
 * commands that make no call) gRPC. A new command is one more file and one more line.
 */
const COMMANDS: Record<string, Loader> = {
  serve: async () => (await import("./commands/serve.js")).registerServe,
  migrate: async () => (await import("./commands/migrate.js")).registerMigrate,
  reserve: async () => (await import("./commands/reserve.js")).registerReserve,
  confirm: async () => (await import("./commands/confirm.js")).registerConfirm,
  checkin: async () => (await import("./commands/checkin.js")).registerCheckin,
  update: async () => (await import("./commands/update.js")).registerUpdate,
  cancel: async () => (await import("./commands/cancel.js")).registerCancel,
  get: async () => (await import("./commands/get.js")).registerGet,
  query: async () => (await import("./commands/query.js")).registerQuery,
  filter: async () => (await import("./commands/filter.js")).registerFilter,
  available: async () => (await import("./commands/available.js")).registerAvailable,
  listen: async () => (await import("./commands/listen.js")).registerListen,
  token: async () => (await import("./commands/token.js")).registerToken,
  resource: async () => (await import("./commands/resource.js")).registerResource,
  webhook: async () => (await import("./commands/webhook.js")).registerWebhook,
};

const HELP_FOOTER = `
Times: ISO 8601 (2030-01-01T10:00 or 2030-01-01 10:00 is local time, TZ;
2030-01-01T10:00:00Z and 2030-01-01T10:00:00.250+01:00 name their zone), or now,
+1h, +90m, -30m (from now), 14:00 (today, or on --date), today 14:00, tomorrow 10:00,
mon 9:00 (the next Monday, today included); a time of day may end in Z or +01:00.
--duration 1h (or 90m, 1h30m) instead of --end; --date tomorrow as the day of bare times.

Output (-o): table (local time with its offset), wide (the table with every column:
listen's cursors), json (one object per line, RFC 3339 UTC; --json is the same), id
(one id per line, for scripts). The options --server, --token, --tls, --ca-file,
--timeout and -o go before or after the subcommand.

A server with authentication on wants a bearer token: --token or RSVP_TOKEN. For
development, \`rsvp token --sub alice --role user\` mints one from RSVP_JWT_SECRET.

Exit status:
  0  success
  ${Exit.usage}  bad usage or input (an unknown option, a missing flag, an invalid time or id)
  ${Exit.refused}  the server refused the request (not found, window already taken, wrong state)
  ${Exit.unavailable}  no answer: the server is unreachable, timed out or failed
`;

/** Under each subcommand's help, instead of the whole footer again. */
const SEE_ALSO = "\nTimes, output formats, tokens and exit statuses: rsvp --help";

/** The program, its global options and help; commands are added by {@link run}. */
function createProgram(version: string): Command {
  return addClientOptions(new Command("rsvp"))
    .description("rsvp: reserve resources for time windows, never double-booked")
    .version(version, "-V, --version")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      // Commander's own errors in the same one-line shape as every other failure.
      outputError: (str, write) => write(`rsvp: ${str.replace(/^error: /, "")}`),
    })
    .addHelpText("after", HELP_FOOTER);
}

/**
 * The subcommand `args` name (`rsvp -s host:1 get ID` names get, `rsvp help get` too), skipping
 * the values of the global options; undefined when there is none.
 */
function named(program: Command, args: readonly string[]): string | undefined {
  const valued = new Set(
    program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.short, o.long]),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (valued.has(arg)) i++;
    else if (arg === "help") return args[i + 1];
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

type Loader = () => Promise<(program: Command) => void>;

/** The commands to load: the one named, none for `--version`, all to list them in help. */
function needed(program: Command, args: readonly string[]): Loader[] {
  const name = named(program, args);
  const one = name === undefined ? undefined : COMMANDS[name];
  if (one) return [one];
  const version = args.includes("-V") || args.includes("--version");
  return name === undefined && version ? [] : Object.values(COMMANDS);
}

function withSeeAlso(cmd: Command) {
  cmd.addHelpText("after", SEE_ALSO);
  for (const sub of cmd.commands) withSeeAlso(sub);
}

/** Runs the command line `args` (after node and the script's path) as rsvp `version`. */
export async function run(args: readonly string[], version: string): Promise<void> {
  const program = createProgram(version);
  for (const load of needed(program, args)) (await load())(program);
  for (const cmd of program.commands) withSeeAlso(cmd);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already said what was wrong (or printed the help that was asked for).
      process.exitCode = err.exitCode;
      return;
    }
    const { toCliError } = await import("./errors.js");
    const failure = toCliError(err);
    process.stderr.write(`rsvp: ${failure.message.replace(/\s*\n\s*/g, "; ")}\n`);
    process.exitCode = failure.exitCode;
  }
}
