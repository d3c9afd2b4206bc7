import type { Command } from "commander";
import type { CallOptions, RsvpClient } from "../../client/grpc-client.js";
import type { Reservation } from "../../gen/reservation/reservation_pb.js";
import { type ClientOptions, clientCommand, withClient } from "../client-command.js";
import { printReservations } from "../output.js";

type ByIdCall<O extends ClientOptions> = (
  client: RsvpClient,
  id: string,
  call: CallOptions,
  opts: O,
) => Promise<{ reservation?: Reservation | undefined }>;

/**
 * A command that acts on one reservation named by its id and prints it as it now stands:
 * the shape of `get`, `confirm` and `cancel`.
 */
export function registerByIdCommand<O extends ClientOptions = ClientOptions>(
  program: Command,
  name: string,
  description: string,
  rpc: ByIdCall<O>,
): Command {
  return clientCommand(program, name)
    .description(description)
    .argument("<id>", "reservation id")
    .action(async (id: string, opts: O) => {
      const { reservation } = await withClient(opts, (client, call) => rpc(client, id, call, opts));
      printReservations([reservation], opts.output);
    });
}
