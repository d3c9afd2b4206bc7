import type { Command } from "commander";
import type { ListenResponse } from "../../gen/reservation/reservation_pb.js";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { shortReason } from "../errors.js";
import {
  EVENT_COLUMNS,
  eventCells,
  eventJson,
  formatRow,
  NARROW_EVENT_COLUMNS,
  narrowEventCells,
} from "../format.js";
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
const MIN_WIDTHS: Record<string, number> = { ID: 36, STATUS: 9, START: 25, END: 25, WHEN: 17 };

/** The table's width: its last column (the note) is cut to it. The wide table is not. */
const TABLE_COLUMNS = 100;

/** `text` cut to `room` characters, its end an ellipsis when cut. */
function cut(text: string, room: number): string {
  const chars = [...text];
  return chars.length <= room ? text : `${chars.slice(0, Math.max(0, room - 1)).join("")}…`;
}

/**
 * Table rows for a tail: the columns cannot be sized from rows not seen yet, so each keeps
 * the widest cell so far and later rows line up once the widths settle. The narrow table
 * keeps to {@link TABLE_COLUMNS} by cutting the note (the full one is in `-o wide` and json).
 */
function tablePrinter(wide: boolean) {
  const columns = wide ? EVENT_COLUMNS : NARROW_EVENT_COLUMNS;
  const widths = columns.map((h) => Math.max(h.length, MIN_WIDTHS[h] ?? 0));
  let headerDone = false;
  return (e: ListenResponse) => {
    const cells = wide ? eventCells(e) : narrowEventCells(e);
    cells.forEach((c, i) => {
      if (i < cells.length - 1) widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
    if (!wide) {
      const before = widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0);
      cells[cells.length - 1] = cut(cells.at(-1) ?? "", Math.max(1, TABLE_COLUMNS - before));
    }
    const lines = headerDone ? [] : [formatRow(columns, widths)];
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
            : tablePrinter(opts.output === "wide");
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
