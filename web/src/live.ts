import { Code, ConnectError } from "@connectrpc/connect";
import type { ListenResponse } from "../../src/gen/reservation/reservation_pb.js";
import { createBackoff } from "../../src/shared/backoff.js";
import type { Rsvp } from "./api.js";

/** What following the change feed reports. */
export interface LiveHandlers {
  change(event: ListenResponse): void;
  /**
   * Load the view again (at first, or after changes may have been missed); resolves with a
   * cursor taken before its rows were read ("" if it failed).
   */
  resync(): Promise<string>;
  status(state: "live" | "reconnecting"): void;
}

const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => window.setTimeout(resolve, ms));

/**
 * Follows `listen` for as long as the page lives: list, then watch. With no cursor (at first,
 * or after one older than the retained history: OUT_OF_RANGE) it loads the view and listens
 * from the cursor of that load, taken before its rows were read, so a change lands in the
 * rows, the stream, or both (applying one twice is harmless). When the stream drops it
 * reconnects (backing off) from the last cursor, so nothing is missed.
 */
export async function followChanges(client: Rsvp, handlers: LiveHandlers): Promise<never> {
  let cursor = "";
  const backoff = createBackoff({ firstMs: MIN_DELAY_MS, maxMs: MAX_DELAY_MS, jitter: 0.2 });
  for (;;) {
    try {
      if (cursor === "") cursor = await handlers.resync();
      if (cursor !== "") {
        handlers.status("live");
        for await (const event of client.listen({ cursor })) {
          cursor = event.cursor;
          backoff.reset();
          handlers.change(event);
        }
      }
    } catch (err) {
      if (ConnectError.from(err).code === Code.OutOfRange) cursor = "";
    }
    handlers.status("reconnecting");
    await sleep(backoff.next());
  }
}
