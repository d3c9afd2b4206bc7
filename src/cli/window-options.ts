import type { Command } from "commander";
import type { Micros } from "../domain/reservation.js";
import { dayArg, durationArg, timeInputArg } from "./client-command.js";
import { CliError, Exit } from "./errors.js";
import {
  type Day,
  type DayWord,
  resolveDay,
  resolveTime,
  type TimeInput,
  TimeInputError,
} from "./time-input.js";

/** `--start`, `--end`, `--duration` and `--date` as parsed, not yet resolved. */
export interface WindowOptions {
  readonly start?: TimeInput;
  readonly end?: TimeInput;
  readonly duration?: Micros;
  readonly date?: Day | DayWord;
}

/** The window the options name; either side may be absent. */
export interface Window {
  readonly start?: Micros;
  readonly end?: Micros;
}

/** Help texts of the window flags, which differ by command. */
export interface WindowHelp {
  readonly start: string;
  readonly end: string;
  readonly date: string;
}

/** Adds `--start`, `--end`, `--duration` (instead of `--end`) and `--date` to a command. */
export function withWindowOptions(cmd: Command, help: WindowHelp): Command {
  return cmd
    .option("--start <time>", help.start, timeInputArg)
    .option("--end <time>", help.end, timeInputArg)
    .option(
      "--duration <length>",
      "the window's length instead of --end (1h, 90m, 1h30m)",
      durationArg,
    )
    .option("--date <day>", help.date, dayArg);
}

/**
 * Resolves the flags against one moment, so `--start now --end +1h` is exactly an hour:
 * times without a day fall on `--date`'s day, `--duration` counts from the start, and
 * `--date` alone (with `wholeDay`) is that day from midnight to midnight.
 */
export function resolveWindow(
  opts: WindowOptions,
  { wholeDay = false, now = Date.now() }: { wholeDay?: boolean; now?: number } = {},
): Window {
  if (opts.end !== undefined && opts.duration !== undefined) {
    throw new CliError("give --end or --duration, not both", Exit.usage);
  }
  try {
    const ctx = { now, date: opts.date };
    let start = opts.start && resolveTime(opts.start, ctx);
    let end = opts.end && resolveTime(opts.end, ctx);
    if (wholeDay && opts.date && start === undefined && end === undefined) {
      const day = resolveDay(opts.date, now);
      const next = new Date(day.year, day.month - 1, day.day + 1, 12);
      const nextDay = { year: next.getFullYear(), month: next.getMonth() + 1, day: next.getDate() };
      start = resolveTime({ kind: "at", day }, ctx);
      end = resolveTime({ kind: "at", day: nextDay }, ctx);
    }
    if (opts.duration !== undefined && start !== undefined) end = start + opts.duration;
    return { start, end };
  } catch (err) {
    if (err instanceof TimeInputError) throw new CliError(err.message, Exit.usage);
    throw err;
  }
}
