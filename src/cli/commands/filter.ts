import { type Command, InvalidArgumentError } from "commander";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { reservationJson } from "../format.js";
import { printJson, printReservations } from "../output.js";
import { type FilterOptions, filterFields, withFilterOptions } from "./filter-options.js";

interface PageOptions extends ClientOptions, FilterOptions {
  readonly pageSize?: number;
  readonly pageToken?: string;
}

function pageSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new InvalidArgumentError("expected 1-500");
  return n;
}

/** `rsvp filter`: one page of reservations; the next page's token goes to stderr. */
export function registerFilter(program: Command): void {
  withFilterOptions(clientCommand(program, "filter"))
    .description("one page of the reservations query would list (keyset pagination)")
    .option("-n, --page-size <n>", "reservations per page (1-500, default 50)", pageSize)
    .option("--page-token <token>", "continue from a previous page")
    .action(async (opts: PageOptions) => {
      const fields = filterFields(opts);
      const page = await withClient(opts, (client, call) =>
        client.filter(
          { ...fields, pageSize: opts.pageSize ?? 0, pageToken: opts.pageToken ?? "" },
          call,
        ),
      );
      if (opts.output === "json") {
        printJson({
          reservations: page.reservations.map(reservationJson),
          nextPageToken: page.nextPageToken,
        });
        return;
      }
      if (page.reservations.length === 0) process.stderr.write("no reservations match\n");
      else printReservations(page.reservations, opts.output);
      if (page.nextPageToken)
        process.stderr.write(`next page: --page-token ${page.nextPageToken}\n`);
    });
}
