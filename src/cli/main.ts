#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Exit } from "./exit.js";

// People call rsvp in loops: `--version` answers before anything else is loaded, and every
// other command line loads the program, then only the command it names (see program.ts).

// Built as dist/src/cli/main.js, three levels below package.json.
const { version } = JSON.parse(
  readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
) as { version: string };

const args = process.argv.slice(2);
// `rsvp query | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") process.stderr.write(`rsvp: cannot write output: ${err.message}\n`);
  process.exit(err.code === "EPIPE" ? Exit.ok : Exit.usage);
});
if (args.length === 1 && (args[0] === "-V" || args[0] === "--version")) {
  process.stdout.write(`${version}\n`);
} else {
  const { run } = await import("./program.js");
  await run(args, version);
}
