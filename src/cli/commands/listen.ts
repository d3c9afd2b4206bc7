import type { Command } from "commander";
import type { ListenResponse } from "../../gen/reservation/reservation_pb.js";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { shortReason } from "../errors.js";
import { EVENT_COLUMNS, eventCells, eventJson, formatRow } from "../format.js";
import { printJson, printLines } from "../output.js";
import { resumableListen } from "../resumable-listen.js";

interface ListenOptions extends ClientOptions {
  readonly resource?: string;
  readonly user?: string;
  readonly cursor?: string;
}

const LISTEN_CHANNEL = {
  // Try a restarted server soon rather than after grpc's default backoff of up to two minutes.
  "grpc.initial_reconnect_backoff_ms": 250,
  "grpc.max_reconnect_backoff_ms": 5000,
  // A silently dead connection (a vanished host, a NAT timeout) is noticed instead of waited on.
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_timeout_ms": 20_000,
};

const note = (line: string) => process.stderr.write(`rsvp: ${line}\n`);

// Cells whose width is known before any row: an id, `confirmed`, a time without fraction.
const MIN_WIDTHS: Record<string, number> = { ID: 36, STATUS: 9, START: 25, END: 25 };

/**
 * Table rows for a tail: the columns cannot be sized from rows not seen yet, so each keeps
 * the widest cell so far and later rows line up once the widths settle.
 */
function tablePrinter() {
  const widths = EVENT_COLUMNS.map((h) => Math.max(h.length, MIN_WIDTHS[h] ?? 0));
  let headerDone = false;
  return (e: ListenResponse) => {
    const cells = eventCells(e);
    cells.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
    const lines = headerDone ? [] : [formatRow(EVENT_COLUMNS, widths)];
    headerDone = true;
    printLines([...lines, formatRow(cells, widths)]);
  };
}

/** `rsvp listen`: a live tail of reservation changes that survives server restarts. */
export function registerListen(program: Command): void {
  clientCommand(program, "listen", { timeout: false })
    .description(
      "print reservation changes as they happen; reconnects and resumes after a dropped connection (ctrl-c to stop)",
    )
    .option("-r, --resource <id>", "only this resource")
    .option("-u, --user <id>", "only this user")
    .option("--cursor <cursor>", "replay every change after this cursor first")
    .action(async (opts: ListenOptions) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const print =
        opts.output === "json"
          ? (e: ListenResponse) => printJson(eventJson(e))
          : opts.output === "id"
            ? (e: ListenResponse) => printLines([e.reservation?.id ?? ""])
            : tablePrinter();
      try {
        await withClient(
          opts,
          async (client) => {
            const events = resumableListen(
              client,
              {
                resourceId: opts.resource ?? "",
                userId: opts.user ?? "",
                cursor: opts.cursor ?? "",
              },
              {
                signal: stop.signal,
                onOpen(cursor, reconnected) {
                  if (!reconnected) note(`listening on ${opts.server}`);
                  else note(`reconnected; resuming after cursor ${cursor}`);
                },
                onRetry(error, delayMs) {
                  const why = error ? shortReason(error) : "the server ended the stream";
                  note(`connection lost (${why}); reconnecting in ${(delayMs / 1000).toFixed(1)}s`);
                },
              },
            );
            for await (const event of events) print(event);
          },
          LISTEN_CHANNEL,
        );
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
