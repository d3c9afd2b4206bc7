import type { Command } from "commander";
import { registerByIdCommand } from "./by-id.js";

/** `rsvp confirm ID`. */
export function registerConfirm(program: Command): void {
  registerByIdCommand(
    program,
    "confirm",
    "confirm a pending reservation (on a resource that needs approval: admins only)",
    (client, id, call) => client.confirm({ id }, call),
  );
}
