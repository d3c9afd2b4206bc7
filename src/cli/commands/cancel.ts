import type { Command } from "commander";
import { registerByIdCommand } from "./by-id.js";

/** `rsvp cancel ID`. */
export function registerCancel(program: Command): void {
  registerByIdCommand(
    program,
    "cancel",
    "cancel a reservation (it is kept, and frees its window)",
    (client, id, call) => client.cancel({ id }, call),
  );
}
