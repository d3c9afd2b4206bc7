import type { Command } from "commander";
import type { Reservation } from "../../gen/reservation/reservation_pb.js";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { reservationJson } from "../format.js";
import { printJson, printReservations } from "../output.js";
import { type FilterOptions, filterFields, withFilterOptions } from "./filter-options.js";

/** `rsvp query`: reservations matching every filter given, ordered by start. */
export function registerQuery(program: Command): void {
  withFilterOptions(clientCommand(program, "query"))
    .description("list reservations matching the filters (all live ones without filters)")
    .action(async (opts: ClientOptions & FilterOptions) => {
      const rows: Reservation[] = [];
      await withClient(opts, async (client, call) => {
        // Scripts get each line as it arrives; a table needs every row to align its columns.
        for await (const r of client.query(filterFields(opts), call)) {
          if (opts.json) printJson(reservationJson(r));
          else rows.push(r);
        }
      });
      if (opts.json) return;
      if (rows.length === 0) process.stderr.write("no reservations match\n");
      else printReservations(rows, false);
    });
}
