import { type Command, InvalidArgumentError } from "commander";
import type { Micros } from "../../domain/reservation.js";
import { formatInstant } from "../../domain/time.js";
import { microsToTimestamp } from "../../server/convert.js";
import { type ClientOptions, clientCommand, timeArg, withClient } from "../client-command.js";
import { CliError, Exit } from "../errors.js";
import { formatLocal, formatTable, micros } from "../format.js";
import { printJson, printLines } from "../output.js";

interface AvailableOptions extends ClientOptions {
  readonly resource?: string;
  readonly pool?: string;
  readonly start: Micros;
  readonly end: Micros;
  readonly min?: Micros;
}

const UNIT: Record<string, bigint> = {
  d: 86_400_000_000n,
  h: 3_600_000_000n,
  m: 60_000_000n,
  s: 1_000_000n,
};

/** `90m`, `1h30m`, `2d`, `45s` as microseconds. */
export function durationArg(value: string): Micros {
  const parts = [...value.matchAll(/(\d+)([dhms])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) {
    throw new InvalidArgumentError("expected a duration such as 30m, 1h30m or 2d");
  }
  return parts.reduce((sum, [, n = "0", u = "s"]) => sum + BigInt(n) * (UNIT[u] ?? 0n), 0n);
}

function formatLength(us: Micros): string {
  const minutes = us / 60_000_000n;
  const h = minutes / 60n;
  const m = minutes % 60n;
  return h > 0n ? `${h}h${m > 0n ? `${m}m` : ""}` : `${m}m`;
}

/** `rsvp available`: the free windows of one resource in a range. */
export function registerAvailable(program: Command): void {
  clientCommand(program, "available")
    .description("free windows of a resource between --start and --end")
    .option("-r, --resource <id>", "the resource")
    .option("--pool <pool>", "instead of --resource: every resource of this pool, each apart")
    .requiredOption("--start <time>", "from", timeArg)
    .requiredOption("--end <time>", "until", timeArg)
    .option("--min <duration>", "only windows at least this long (30m, 1h30m, 2d)", durationArg)
    .action(async (opts: AvailableOptions) => {
      if ((opts.resource === undefined) === (opts.pool === undefined)) {
        throw new CliError("give either --resource or --pool", Exit.usage);
      }
      const min = opts.min ?? 0n;
      const res = await withClient(opts, (client, call) =>
        client.available(
          {
            resourceId: opts.resource ?? "",
            pool: opts.pool ?? "",
            start: microsToTimestamp(opts.start),
            end: microsToTimestamp(opts.end),
            minDuration: { seconds: min / 1_000_000n, nanos: Number(min % 1_000_000n) * 1000 },
          },
          call,
        ),
      );
      const windows = res.windows.map((w) => ({
        resource: w.resourceId,
        start: micros(w.start) ?? 0n,
        end: micros(w.end) ?? 0n,
      }));
      if (opts.json) {
        for (const w of windows) {
          const times = { start: formatInstant(w.start), end: formatInstant(w.end) };
          printJson(opts.pool === undefined ? times : { resourceId: w.resource, ...times });
        }
        return;
      }
      if (windows.length === 0) process.stderr.write("no free window\n");
      const rows = windows.map((w) => [
        formatLocal(w.start),
        formatLocal(w.end),
        formatLength(w.end - w.start),
      ]);
      // A pool's windows name their resource: two rooms free in turn are not one free room.
      if (rows.length > 0 && opts.pool !== undefined) {
        const named = rows.map((row, i) => [windows[i]?.resource ?? "", ...row]);
        printLines(formatTable(["RESOURCE", "START", "END", "LENGTH"], named));
      } else if (rows.length > 0) printLines(formatTable(["START", "END", "LENGTH"], rows));
    });
}
