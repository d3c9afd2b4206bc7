import type { Command } from "commander";
import { registerByIdCommand } from "./by-id.js";

/** `rsvp get ID`. */
export function registerGet(program: Command): void {
  registerByIdCommand(program, "get", "show one reservation", (client, id, call) =>
    client.get({ id }, call),
  );
}
