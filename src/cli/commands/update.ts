import type { Command } from "commander";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { printReservations } from "../output.js";

/** `rsvp update ID --note N`. */
export function registerUpdate(program: Command): void {
  clientCommand(program, "update")
    .description("change the note of a reservation")
    .argument("<id>", "reservation id")
    .requiredOption("-n, --note <text>", "the new note")
    .action(async (id: string, opts: ClientOptions & { note: string }) => {
      const { reservation } = await withClient(opts, (client, call) =>
        client.update({ id, note: opts.note }, call),
      );
      printReservations([reservation], opts.json);
    });
}
