import type { Command } from "commander";
import type { CallOptions, RsvpClient } from "../../client/grpc-client.js";
import type { Reservation } from "../../gen/reservation/reservation_pb.js";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { printReservations } from "../output.js";

type ByIdCall = (
  client: RsvpClient,
  id: string,
  call: CallOptions,
) => Promise<{ reservation?: Reservation | undefined }>;

/**
 * A command that acts on one reservation named by its id and prints it as it now stands:
 * the shape of `get`, `confirm` and `cancel`.
 */
export function registerByIdCommand(
  program: Command,
  name: string,
  description: string,
  rpc: ByIdCall,
): Command {
  return clientCommand(program, name)
    .description(description)
    .argument("<id>", "reservation id")
    .action(async (id: string, opts: ClientOptions) => {
      const { reservation } = await withClient(opts, (client, call) => rpc(client, id, call));
      printReservations([reservation], opts.output);
    });
}
