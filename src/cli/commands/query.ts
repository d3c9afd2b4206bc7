import { type Command, Option } from "commander";
import type { Micros } from "../../domain/reservation.js";
import { type Reservation, ReservationStatus } from "../../gen/reservation/reservation_pb.js";
import { microsToTimestamp } from "../../server/convert.js";
import { type ClientOptions, clientCommand, timeArg, withClient } from "../client-command.js";
import { reservationJson } from "../format.js";
import { printJson, printReservations } from "../output.js";

interface QueryOptions extends ClientOptions {
  readonly resource?: string;
  readonly user?: string;
  readonly status?: "pending" | "confirmed" | "blocked" | "cancelled";
  readonly start?: Micros;
  readonly end?: Micros;
  readonly desc?: boolean;
}

const STATUS = {
  pending: ReservationStatus.PENDING,
  confirmed: ReservationStatus.CONFIRMED,
  blocked: ReservationStatus.BLOCKED,
  cancelled: ReservationStatus.CANCELLED,
} as const;

/** `rsvp query`: reservations matching every filter given, ordered by start. */
export function registerQuery(program: Command): void {
  clientCommand(program, "query")
    .description("list reservations matching the filters (all live ones without filters)")
    .option("-r, --resource <id>", "only this resource")
    .option("-u, --user <id>", "only this user")
    .addOption(
      new Option("--status <status>", "only this status (default: all but cancelled)").choices(
        Object.keys(STATUS),
      ),
    )
    .option("--start <time>", "only reservations ending after this time", timeArg)
    .option("--end <time>", "only reservations starting before this time", timeArg)
    .option("--desc", "latest start first")
    .action(async (opts: QueryOptions) => {
      const rows: Reservation[] = [];
      await withClient(opts, async (client, call) => {
        const stream = client.query(
          {
            resourceId: opts.resource ?? "",
            userId: opts.user ?? "",
            status: opts.status ? STATUS[opts.status] : ReservationStatus.UNKNOWN,
            start: opts.start === undefined ? undefined : microsToTimestamp(opts.start),
            end: opts.end === undefined ? undefined : microsToTimestamp(opts.end),
            desc: opts.desc === true,
          },
          call,
        );
        // Scripts get each line as it arrives; a table needs every row to align its columns.
        for await (const r of stream) {
          if (opts.json) printJson(reservationJson(r));
          else rows.push(r);
        }
      });
      if (opts.json) return;
      if (rows.length === 0) process.stderr.write("no reservations match\n");
      else printReservations(rows, false);
    });
}
