import type { Command } from "commander";
import type { ClientOptions } from "../client-command.js";
import { registerByIdCommand } from "./by-id.js";

/** `rsvp cancel ID [--following]`. */
export function registerCancel(program: Command): void {
  registerByIdCommand<ClientOptions & { following?: boolean }>(
    program,
    "cancel",
    "cancel a reservation (it is kept, and frees its window)",
    (client, id, call, opts) => client.cancel({ id, following: opts.following ?? false }, call),
  ).option(
    "--following",
    "also cancel every later reservation of its series or group (this and following)",
  );
}
