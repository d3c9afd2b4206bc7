import type { Command } from "commander";
import type { Micros } from "../../domain/reservation.js";
import { formatInstant } from "../../domain/time.js";
import { microsToDuration, microsToTimestamp } from "../../protocol/convert.js";
import { type ClientOptions, clientCommand, durationArg, withClient } from "../client-command.js";
import { countArg } from "../count-arg.js";
import { formatDuration } from "../duration-input.js";
import { CliError, Exit } from "../errors.js";
import { formatLocal, formatTable, micros } from "../format.js";
import { printJson, printLines } from "../output.js";
import { resolveWindow, type WindowOptions, withWindowOptions } from "../window-options.js";

interface AvailableOptions extends ClientOptions, WindowOptions {
  readonly resource?: string;
  readonly pool?: string;
  readonly min?: Micros;
  readonly quantity: number;
}

/** `rsvp available`: the free windows of one resource in a range. */
export function registerAvailable(program: Command): void {
  withWindowOptions(
    clientCommand(program, "available")
      .description("free windows of a resource between --start and --end, or on a --date")
      .option("-r, --resource <id>", "the resource")
      .option("--pool <pool>", "instead of --resource: every resource of this pool, each apart"),
    {
      start: "from",
      end: "until",
      date: "that whole day (with --start/--end: the day of their times)",
    },
  )
    .option("--min <duration>", "only windows at least this long (30m, 1h30m, 2d)", durationArg)
    .option("--quantity <units>", "only windows with this many units free throughout", countArg, 0)
    .action(async (opts: AvailableOptions) => {
      if (opts.output === "id") {
        throw new CliError("free windows have no ids: use -o table or -o json", Exit.usage);
      }
      const { start, end } = resolveWindow(opts, { wholeDay: true });
      if (start === undefined || end === undefined) {
        throw new CliError("give --start and --end (or --duration), or a --date", Exit.usage);
      }
      if ((opts.resource === undefined) === (opts.pool === undefined)) {
        throw new CliError("give either --resource or --pool", Exit.usage);
      }
      const min = opts.min ?? 0n;
      const res = await withClient(opts, (client, call) =>
        client.available(
          {
            resourceId: opts.resource ?? "",
            pool: opts.pool ?? "",
            start: microsToTimestamp(start),
            end: microsToTimestamp(end),
            minDuration: microsToDuration(min),
            quantity: opts.quantity,
          },
          call,
        ),
      );
      const windows = res.windows.map((w) => ({
        resource: w.resourceId,
        start: micros(w.start) ?? 0n,
        end: micros(w.end) ?? 0n,
        free: w.free,
      }));
      // Units free are shown for counted resources (or when units were asked for); an
      // exclusive resource's windows read as before.
      const counted = opts.quantity > 0 || windows.some((w) => w.free !== 1);
      if (opts.output === "json") {
        for (const w of windows) {
          const times = {
            start: formatInstant(w.start),
            end: formatInstant(w.end),
            ...(counted ? { free: w.free } : {}),
          };
          printJson(opts.pool === undefined ? times : { resourceId: w.resource, ...times });
        }
        return;
      }
      if (windows.length === 0) process.stderr.write("no free window\n");
      const rows = windows.map((w) => [
        formatLocal(w.start),
        formatLocal(w.end),
        formatDuration(w.end - w.start),
        ...(counted ? [String(w.free)] : []),
      ]);
      const columns = ["START", "END", "LENGTH", ...(counted ? ["FREE"] : [])];
      // A pool's windows name their resource: two rooms free in turn are not one free room.
      if (rows.length > 0 && opts.pool !== undefined) {
        const named = rows.map((row, i) => [windows[i]?.resource ?? "", ...row]);
        printLines(formatTable(["RESOURCE", ...columns], named));
      } else if (rows.length > 0) printLines(formatTable(columns, rows));
    });
}
