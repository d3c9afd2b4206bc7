import type { Command } from "commander";
import { ReservationStatus } from "../../gen/reservation/reservation_pb.js";
import { microsToTimestamp } from "../../protocol/convert.js";
import { type ClientOptions, choiceOption, clientCommand, withClient } from "../client-command.js";
import { countArg } from "../count-arg.js";
import { CliError, Exit } from "../errors.js";
import { formatLocal, micros } from "../format.js";
import { printReservations } from "../output.js";
import { resolveWindow, type WindowOptions, withWindowOptions } from "../window-options.js";

interface ReserveOptions extends ClientOptions, WindowOptions {
  readonly resource?: string;
  readonly pool?: string;
  readonly repeat?: string;
  readonly timeZone?: string;
  readonly skipConflicts?: boolean;
  readonly maxSkipped: number;
  readonly user?: string;
  readonly note: string;
  readonly status: "pending" | "confirmed" | "blocked";
  readonly quantity: number;
  readonly wait?: boolean;
}

const STATUS = {
  pending: ReservationStatus.PENDING,
  confirmed: ReservationStatus.CONFIRMED,
  blocked: ReservationStatus.BLOCKED,
} as const;

/** `rsvp reserve`: reserves a resource for `[start, end)`. */
export function registerReserve(program: Command): void {
  withWindowOptions(
    clientCommand(program, "reserve")
      .description("reserve a resource for the window [start, end)")
      .option("-r, --resource <id>", "the resource to reserve")
      .option("--pool <pool>", "instead of --resource: any free resource of this pool")
      .option("--repeat <rrule>", "a series: repeat by this RRULE (FREQ=WEEKLY;COUNT=10)")
      .option("--time-zone <zone>", "with --repeat: keep local times of this IANA zone")
      .option("--skip-conflicts", "with --repeat: reserve the free occurrences, report the rest")
      .option(
        "--max-skipped <n>",
        "with --skip-conflicts: book nothing when more than n occurrences clash",
        countArg,
        0,
      )
      .option("-u, --user <id>", "who the reservation is for (default with --token: yourself)"),
    {
      start: "start of the window (inclusive; required)",
      end: "end of the window (exclusive)",
      date: "the day of times given without one (default: today)",
    },
  )
    .option("-n, --note <text>", "a note", "")
    .option("--quantity <units>", "units of a counted resource to take (default 1)", countArg, 0)
    .option("--wait", "when the window is taken, wait for it (status waiting) instead of failing")
    .addOption(
      choiceOption("--status <status>", "initial status", Object.keys(STATUS)).default("pending"),
    )
    .action(async (opts: ReserveOptions) => {
      // With a token the server takes an empty user as the token's own subject.
      if (opts.user === undefined && !opts.token) {
        throw new CliError(
          "required option '-u, --user <id>' not specified (or give --token to reserve for yourself)",
          Exit.usage,
        );
      }
      const { start, end } = resolveWindow(opts);
      if (start === undefined) {
        throw new CliError("required option '--start <time>' not specified", Exit.usage);
      }
      if (end === undefined) {
        throw new CliError(
          "required option '--end <time>' (or '--duration <length>') not specified",
          Exit.usage,
        );
      }
      if ((opts.resource === undefined) === (opts.pool === undefined)) {
        throw new CliError("give either --resource or --pool", Exit.usage);
      }
      if (opts.repeat === undefined && (opts.timeZone !== undefined || opts.skipConflicts)) {
        throw new CliError("--time-zone and --skip-conflicts go with --repeat", Exit.usage);
      }
      if (opts.maxSkipped > 0 && !opts.skipConflicts) {
        throw new CliError("--max-skipped goes with --skip-conflicts", Exit.usage);
      }
      if (opts.wait && (opts.repeat !== undefined || opts.pool !== undefined)) {
        throw new CliError("--wait goes with --resource, not with --repeat or --pool", Exit.usage);
      }
      const request = {
        reservation: {
          resourceId: opts.resource ?? "",
          userId: opts.user ?? "",
          start: microsToTimestamp(start),
          end: microsToTimestamp(end),
          note: opts.note,
          status: STATUS[opts.status],
          quantity: opts.quantity,
        },
        pool: opts.pool ?? "",
        wait: opts.wait ?? false,
      };
      if (opts.repeat === undefined) {
        const { reservation } = await withClient(opts, (client, call) =>
          client.reserve(request, call),
        );
        printReservations([reservation], opts.output);
        return;
      }
      const rrule = opts.repeat;
      const series = await withClient(opts, (client, call) =>
        client.reserveSeries(
          {
            first: request,
            rrule,
            timeZone: opts.timeZone ?? "",
            skipConflicts: opts.skipConflicts ?? false,
            maxSkipped: opts.maxSkipped,
          },
          call,
        ),
      );
      printReservations(series.reservations, opts.output);
      for (const c of series.skipped) {
        process.stderr.write(
          `rsvp: skipped occurrence ${c.item}: ${formatLocal(micros(c.requestedStart) ?? 0n)} does not fit beside ` +
            `${formatLocal(micros(c.existingStart) ?? 0n)} - ${formatLocal(micros(c.existingEnd) ?? 0n)}\n`,
        );
      }
    });
}
