import type { Command } from "commander";
import type { Micros } from "../../domain/reservation.js";
import { microsToTimestamp } from "../../protocol/convert.js";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { CliError, Exit } from "../errors.js";
import { micros } from "../format.js";
import { printReservations } from "../output.js";
import { resolveWindow, type WindowOptions, withWindowOptions } from "../window-options.js";

interface UpdateOptions extends ClientOptions, WindowOptions {
  readonly note?: string;
}

/** `rsvp update ID [--note N] [--start T] [--end T | --duration D] [--date D]`. */
export function registerUpdate(program: Command): void {
  withWindowOptions(
    clientCommand(program, "update")
      .description(
        "change the note of a reservation, or move it: --start and --end (or --duration); " +
          "--start alone keeps its length, --end or --duration alone keeps its start",
      )
      .argument("<id>", "reservation id")
      .option("-n, --note <text>", "the new note"),
    {
      start: "move the start here",
      end: "move the end here (exclusive)",
      date: "the day of times given without one (default: today)",
    },
  ).action(async (id: string, opts: UpdateOptions) => {
    const window = resolveWindow(opts);
    const moves = window.start !== undefined || window.end !== undefined || opts.duration;
    if (!moves && opts.note === undefined) {
      throw new CliError(
        "nothing to change: give --note, --start, --end or --duration",
        Exit.usage,
      );
    }
    const { reservation } = await withClient(opts, async (client, call) => {
      if (!moves) return client.update({ id, note: opts.note ?? "" }, call);
      let { start, end } = window;
      if (start === undefined || end === undefined) {
        // A half-given window keeps the other half (or the length) of the reservation as it is.
        const now = (await client.get({ id }, call)).reservation;
        const [oldStart, oldEnd] = [micros(now?.start), micros(now?.end)] as [Micros, Micros];
        if (start === undefined) start = oldStart;
        end ??= start + (opts.duration ?? oldEnd - oldStart);
      }
      // With a window the server changes the note only when one is given (proto3 optional).
      return client.update(
        { id, start: microsToTimestamp(start), end: microsToTimestamp(end), note: opts.note },
        call,
      );
    });
    printReservations([reservation], opts.output);
  });
}
