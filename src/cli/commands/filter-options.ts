import type { Command } from "commander";
import { ReservationStatus } from "../../gen/reservation/reservation_pb.js";
import { microsToTimestamp } from "../../protocol/convert.js";
import { choiceOption } from "../client-command.js";
import { resolveWindow, type WindowOptions, withWindowOptions } from "../window-options.js";

/** The filters `query` and `filter` share. */
export interface FilterOptions extends WindowOptions {
  readonly resource?: string;
  readonly user?: string;
  readonly status?: "pending" | "confirmed" | "blocked" | "cancelled" | "waiting";
  readonly desc?: boolean;
}

const STATUS = {
  pending: ReservationStatus.PENDING,
  confirmed: ReservationStatus.CONFIRMED,
  blocked: ReservationStatus.BLOCKED,
  cancelled: ReservationStatus.CANCELLED,
  waiting: ReservationStatus.WAITING,
} as const;

/** Adds the filter flags to a command. */
export function withFilterOptions(cmd: Command): Command {
  return withWindowOptions(
    cmd
      .option("-r, --resource <id>", "only this resource")
      .option("-u, --user <id>", "only this user")
      .addOption(
        choiceOption(
          "--status <status>",
          "only this status (default: all but cancelled and waiting)",
          Object.keys(STATUS),
        ),
      ),
    {
      start: "only reservations ending after this time",
      end: "only reservations starting before this time",
      date: "only reservations on this day (with --start/--end: the day of their times)",
    },
  ).option("--desc", "latest start first");
}

/** The flags as the request fields QueryRequest and FilterRequest share. */
export function filterFields(opts: FilterOptions) {
  const { start, end } = resolveWindow(opts, { wholeDay: true });
  return {
    resourceId: opts.resource ?? "",
    userId: opts.user ?? "",
    status: opts.status ? STATUS[opts.status] : ReservationStatus.UNKNOWN,
    start: start === undefined ? undefined : microsToTimestamp(start),
    end: end === undefined ? undefined : microsToTimestamp(end),
    desc: opts.desc === true,
  };
}
