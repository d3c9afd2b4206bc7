import type { Command } from "commander";
import type { ClientOptions } from "../client-command.js";
import { registerByIdCommand } from "./by-id.js";

/** `rsvp cancel ID [--following] [--reason TEXT]`. */
export function registerCancel(program: Command): void {
  registerByIdCommand<ClientOptions & { following?: boolean; reason?: string }>(
    program,
    "cancel",
    "cancel a reservation (it is kept, and frees its window for whoever waits for it)",
    (client, id, call, opts) =>
      client.cancel({ id, following: opts.following ?? false, reason: opts.reason ?? "" }, call),
  )
    .option(
      "--following",
      "also cancel every later reservation of its series or group (this and following)",
    )
    .option("--reason <text>", "why (kept with the reservation; at most 500 characters)");
}
