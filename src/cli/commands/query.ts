import type { Command } from "commander";
import type { Reservation } from "../../gen/reservation/reservation_pb.js";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { printReservations } from "../output.js";
import { type FilterOptions, filterFields, withFilterOptions } from "./filter-options.js";

/** `rsvp query`: reservations matching every filter given, ordered by start. */
export function registerQuery(program: Command): void {
  withFilterOptions(clientCommand(program, "query"))
    .description("list reservations matching the filters (all live ones without filters)")
    .action(async (opts: ClientOptions & FilterOptions) => {
      const fields = filterFields(opts);
      const rows: Reservation[] = [];
      // Scripts get each line as it arrives; a table needs every row to align its columns.
      const streams = opts.output === "json" || opts.output === "id";
      await withClient(opts, async (client, call) => {
        for await (const r of client.query(fields, call)) {
          if (streams) printReservations([r], opts.output);
          else rows.push(r);
        }
      });
      if (streams) return;
      if (rows.length === 0) process.stderr.write("no reservations match\n");
      else printReservations(rows);
    });
}
