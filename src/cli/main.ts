#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { addClientOptions } from "./client-command.js";
import { registerAvailable } from "./commands/available.js";
import { registerCancel } from "./commands/cancel.js";
import { registerConfirm } from "./commands/confirm.js";
import { registerFilter } from "./commands/filter.js";
import { registerGet } from "./commands/get.js";
import { registerListen } from "./commands/listen.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerQuery } from "./commands/query.js";
import { registerReserve } from "./commands/reserve.js";
import { registerResource } from "./commands/resource.js";
import { registerServe } from "./commands/serve.js";
import { registerToken } from "./commands/token.js";
import { registerUpdate } from "./commands/update.js";
import { registerWebhook } from "./commands/webhook.js";
import { Exit, toCliError } from "./errors.js";

/** Every subcommand, one module each; a new command is one more file and one more line. */
const COMMANDS = [
  registerServe,
  registerMigrate,
  registerReserve,
  registerConfirm,
  registerUpdate,
  registerCancel,
  registerGet,
  registerQuery,
  registerFilter,
  registerAvailable,
  registerListen,
  registerToken,
  registerResource,
  registerWebhook,
];

const HELP_FOOTER = `
Times: ISO 8601 (2030-01-01T10:00 or 2030-01-01 10:00 is local time, TZ;
2030-01-01T10:00:00Z and 2030-01-01T10:00:00.250+01:00 name their zone), or now,
+1h, +90m, -30m (from now), 14:00 (today, or on --date), today 14:00, tomorrow 10:00,
mon 9:00 (the next Monday, today included); a time of day may end in Z or +01:00.
--duration 1h (or 90m, 1h30m) instead of --end; --date tomorrow as the day of bare times.

Output (-o): table (local time with its offset), json (one object per line, RFC 3339
UTC; --json is the same), id (one id per line, for scripts). The options --server,
--token, --tls, --ca-file, --timeout and -o go before or after the subcommand.

A server with authentication on wants a bearer token: --token or RSVP_TOKEN. For
development, \`rsvp token --sub alice --role user\` mints one from RSVP_JWT_SECRET.

Exit status:
  0  success
  ${Exit.usage}  bad usage or input (an unknown option, a missing flag, an invalid time or id)
  ${Exit.refused}  the server refused the request (not found, window already taken, wrong state)
  ${Exit.unavailable}  no answer: the server is unreachable, timed out or failed
`;

// Built as dist/src/cli/main.js, three levels below package.json.
const { version } = JSON.parse(
  readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
) as { version: string };

const program = addClientOptions(new Command("rsvp"))
  .description("rsvp: reserve resources for time windows, never double-booked")
  .version(version, "-V, --version")
  .configureHelp({ showGlobalOptions: true })
  .exitOverride()
  .configureOutput({
    // Commander's own errors in the same one-line shape as every other failure.
    outputError: (str, write) => write(`rsvp: ${str.replace(/^error: /, "")}`),
  })
  .addHelpText("afterAll", HELP_FOOTER);
for (const register of COMMANDS) register(program);

// `rsvp query | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") process.stderr.write(`rsvp: cannot write output: ${err.message}\n`);
  process.exit(err.code === "EPIPE" ? Exit.ok : Exit.usage);
});

program.parseAsync().catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Commander has already said what was wrong (or printed the help that was asked for).
    process.exitCode = err.exitCode;
    return;
  }
  const failure = toCliError(err);
  process.stderr.write(`rsvp: ${failure.message.replace(/\s*\n\s*/g, "; ")}\n`);
  process.exitCode = failure.exitCode;
});
