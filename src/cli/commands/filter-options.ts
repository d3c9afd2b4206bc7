import { type Command, Option } from "commander";
import type { Micros } from "../../domain/reservation.js";
import { ReservationStatus } from "../../gen/reservation/reservation_pb.js";
import { microsToTimestamp } from "../../server/convert.js";
import { timeArg } from "../client-command.js";

/** The filters `query` and `filter` share. */
export interface FilterOptions {
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

/** Adds the filter flags to a command. */
export function withFilterOptions(cmd: Command): Command {
  return cmd
    .option("-r, --resource <id>", "only this resource")
    .option("-u, --user <id>", "only this user")
    .addOption(
      new Option("--status <status>", "only this status (default: all but cancelled)").choices(
        Object.keys(STATUS),
      ),
    )
    .option("--start <time>", "only reservations ending after this time", timeArg)
    .option("--end <time>", "only reservations starting before this time", timeArg)
    .option("--desc", "latest start first");
}

/** The flags as the request fields QueryRequest and FilterRequest share. */
export function filterFields(opts: FilterOptions) {
  return {
    resourceId: opts.resource ?? "",
    userId: opts.user ?? "",
    status: opts.status ? STATUS[opts.status] : ReservationStatus.UNKNOWN,
    start: opts.start === undefined ? undefined : microsToTimestamp(opts.start),
    end: opts.end === undefined ? undefined : microsToTimestamp(opts.end),
    desc: opts.desc === true,
  };
}
