import type { Command } from "commander";
import type { Micros } from "../../domain/reservation.js";
import { formatInstant } from "../../domain/time.js";
import { microsToTimestamp } from "../../server/convert.js";
import { type ClientOptions, clientCommand, durationArg, withClient } from "../client-command.js";
import { formatDuration } from "../duration-input.js";
import { CliError, Exit } from "../errors.js";
import { formatLocal, formatTable, micros } from "../format.js";
import { printJson, printLines } from "../output.js";
import { resolveWindow, type WindowOptions, withWindowOptions } from "../window-options.js";

interface AvailableOptions extends ClientOptions, WindowOptions {
  readonly resource: string;
  readonly min?: Micros;
}

/** `rsvp available`: the free windows of one resource in a range. */
export function registerAvailable(program: Command): void {
  withWindowOptions(
    clientCommand(program, "available")
      .description("free windows of a resource between --start and --end, or on a --date")
      .requiredOption("-r, --resource <id>", "the resource"),
    {
      start: "from",
      end: "until",
      date: "that whole day (with --start/--end: the day of their times)",
    },
  )
    .option("--min <duration>", "only windows at least this long (30m, 1h30m, 2d)", durationArg)
    .action(async (opts: AvailableOptions) => {
      if (opts.output === "id") {
        throw new CliError("free windows have no ids: use -o table or -o json", Exit.usage);
      }
      const { start, end } = resolveWindow(opts, { wholeDay: true });
      if (start === undefined || end === undefined) {
        throw new CliError("give --start and --end (or --duration), or a --date", Exit.usage);
      }
      const min = opts.min ?? 0n;
      const res = await withClient(opts, (client, call) =>
        client.available(
          {
            resourceId: opts.resource,
            start: microsToTimestamp(start),
            end: microsToTimestamp(end),
            minDuration: { seconds: min / 1_000_000n, nanos: Number(min % 1_000_000n) * 1000 },
          },
          call,
        ),
      );
      const windows = res.windows.map((w) => ({
        start: micros(w.start) ?? 0n,
        end: micros(w.end) ?? 0n,
      }));
      if (opts.output === "json") {
        for (const w of windows)
          printJson({ start: formatInstant(w.start), end: formatInstant(w.end) });
        return;
      }
      if (windows.length === 0) process.stderr.write("no free window\n");
      const rows = windows.map((w) => [
        formatLocal(w.start),
        formatLocal(w.end),
        formatDuration(w.end - w.start),
      ]);
      if (rows.length > 0) printLines(formatTable(["START", "END", "LENGTH"], rows));
    });
}
