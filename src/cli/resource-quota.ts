import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import type { Micros } from "../domain/reservation.js";
import { type Quota, QuotaPeriod, QuotaSchema } from "../gen/reservation/resource_pb.js";
import { microsToDuration } from "../protocol/convert.js";
import { choiceOption, durationArg } from "./client-command.js";
import { countArg } from "./count-arg.js";
import { CliError, Exit } from "./exit.js";

/** The quota flags of `resource put`, as commander parses them. */
export interface QuotaOptions {
  readonly quotaPeriod?: "day" | "week" | "month";
  readonly quotaMaxReservations?: number;
  readonly quotaMaxTime?: Micros;
  readonly quotaPerPool?: boolean;
}

const PERIODS = { day: QuotaPeriod.DAY, week: QuotaPeriod.WEEK, month: QuotaPeriod.MONTH } as const;

/** Adds `--quota-period`, `--quota-max-reservations`, `--quota-max-time` and `--quota-per-pool`. */
export function addQuotaOptions(command: Command): Command {
  return command
    .addOption(
      choiceOption(
        "--quota-period <period>",
        "quota period, in the resource's time zone (week: Monday first)",
        Object.keys(PERIODS),
      ),
    )
    .option(
      "--quota-max-reservations <n>",
      "quota: most reservations one user's starts may have in a period (0: no limit)",
      countArg,
    )
    .option(
      "--quota-max-time <duration>",
      "quota: most booked time one user's reservations may start in a period",
      durationArg,
    )
    .option(
      "--quota-per-pool",
      "quota: count the user's reservations on every resource of the pool",
    );
}

/**
 * The quota the flags ask for, or undefined when none is given (no quota). A limit without a
 * period is refused here, before any call, as the service would refuse it.
 */
export function quotaFrom(opts: QuotaOptions): Quota | undefined {
  const limited =
    opts.quotaMaxReservations !== undefined || opts.quotaMaxTime !== undefined || opts.quotaPerPool;
  if (opts.quotaPeriod === undefined) {
    if (limited) throw new CliError("a quota needs --quota-period day, week or month", Exit.usage);
    return undefined;
  }
  const us = opts.quotaMaxTime;
  return create(QuotaSchema, {
    period: PERIODS[opts.quotaPeriod],
    maxReservations: opts.quotaMaxReservations ?? 0,
    maxTime: us === undefined ? undefined : microsToDuration(us),
    perPool: opts.quotaPerPool ?? false,
  });
}

/** A quota's period as the flags spell it, or undefined when it has none. */
export function quotaPeriodName(q: Quota | undefined): keyof typeof PERIODS | undefined {
  const found = Object.entries(PERIODS).find(([, p]) => p === q?.period);
  return found?.[0] as keyof typeof PERIODS | undefined;
}
