import type { Command } from "commander";
import { registerByIdCommand } from "./by-id.js";

/** `rsvp checkin ID`. */
export function registerCheckin(program: Command): void {
  registerByIdCommand(
    program,
    "checkin",
    "check in to a reservation (from shortly before its start until its end)",
    (client, id, call) => client.checkIn({ id }, call),
  );
}
