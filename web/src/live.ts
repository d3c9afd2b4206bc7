import { Code, ConnectError } from "@connectrpc/connect";
import type { ListenResponse } from "../../src/gen/reservation/reservation_pb.js";
import type { Rsvp } from "./api.js";

/** What following the change feed reports. */
export interface LiveHandlers {
  change(event: ListenResponse): void;
  /** Changes may have been missed (no cursor to resume from): load the view again. */
  resync(): void;
  status(state: "live" | "reconnecting"): void;
}

const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => window.setTimeout(resolve, ms));

/**
 * Follows `listen` for as long as the page lives. When the stream drops it reconnects (backing
 * off) from the last cursor, so nothing is missed. With no cursor (at first, or after one older
 * than the retained history: OUT_OF_RANGE) it listens from now and asks for a resync right
 * after the listen request has gone out, so a change lands in the listen stream, the resync,
 * or both (applying one twice is harmless).
 */
export async function followChanges(client: Rsvp, handlers: LiveHandlers): Promise<never> {
  let cursor = "";
  let delay = MIN_DELAY_MS;
  for (;;) {
    handlers.status("live");
    try {
      // Calling the method sends the request; iterating only reads the answer.
      const events = client.listen({ cursor });
      if (cursor === "") handlers.resync();
      for await (const event of events) {
        cursor = event.cursor;
        delay = MIN_DELAY_MS;
        handlers.change(event);
      }
    } catch (err) {
      if (ConnectError.from(err).code === Code.OutOfRange) cursor = "";
    }
    handlers.status("reconnecting");
    await sleep(delay);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}
