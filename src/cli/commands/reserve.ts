import { type Command, Option } from "commander";
import type { Micros } from "../../domain/reservation.js";
import { ReservationStatus } from "../../gen/reservation/reservation_pb.js";
import { microsToTimestamp } from "../../server/convert.js";
import { type ClientOptions, clientCommand, timeArg, withClient } from "../client-command.js";
import { CliError, Exit } from "../errors.js";
import { printReservations } from "../output.js";

interface ReserveOptions extends ClientOptions {
  readonly resource: string;
  readonly user?: string;
  readonly start: Micros;
  readonly end: Micros;
  readonly note: string;
  readonly status: "pending" | "confirmed" | "blocked";
}

const STATUS = {
  pending: ReservationStatus.PENDING,
  confirmed: ReservationStatus.CONFIRMED,
  blocked: ReservationStatus.BLOCKED,
} as const;

/** `rsvp reserve`: reserves a resource for `[start, end)`. */
export function registerReserve(program: Command): void {
  clientCommand(program, "reserve")
    .description("reserve a resource for the window [start, end)")
    .requiredOption("-r, --resource <id>", "the resource to reserve")
    .option("-u, --user <id>", "who the reservation is for (default with --token: yourself)")
    .requiredOption("--start <time>", "start of the window (inclusive)", timeArg)
    .requiredOption("--end <time>", "end of the window (exclusive)", timeArg)
    .option("-n, --note <text>", "a note", "")
    .addOption(
      new Option("--status <status>", "initial status")
        .choices(Object.keys(STATUS))
        .default("pending"),
    )
    .action(async (opts: ReserveOptions) => {
      // With a token the server takes an empty user as the token's own subject.
      if (opts.user === undefined && !opts.token) {
        throw new CliError(
          "required option '-u, --user <id>' not specified (or give --token to reserve for yourself)",
          Exit.usage,
        );
      }
      const { reservation } = await withClient(opts, (client, call) =>
        client.reserve(
          {
            reservation: {
              resourceId: opts.resource,
              userId: opts.user ?? "",
              start: microsToTimestamp(opts.start),
              end: microsToTimestamp(opts.end),
              note: opts.note,
              status: STATUS[opts.status],
            },
          },
          call,
        ),
      );
      printReservations([reservation], opts.json);
    });
}
