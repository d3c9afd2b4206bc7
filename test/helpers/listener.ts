import type { RsvpClient } from "../../src/client/grpc-client.js";
import type { ListenResponse } from "../../src/gen/reservation/reservation_pb.js";

/** A listen stream being collected in the background. */
export interface Collector {
  readonly events: ListenResponse[];
  /** Resolves with the response headers once the server has accepted the stream (live). */
  readonly opened: Promise<Record<string, string>>;
  /** Resolves when `n` events arrived; rejects after `timeoutMs` with what did arrive. */
  waitFor(n: number, timeoutMs?: number): Promise<ListenResponse[]>;
  /** The error that ended the stream, if one did. */
  readonly ended: Promise<unknown>;
  stop(): void;
}

/** Opens `listen` and collects its events. */
export function collectListen(
  client: RsvpClient,
  req: Parameters<RsvpClient["listen"]>[0] = {},
): Collector {
  const stream = client.listen(req);
  const events: ListenResponse[] = [];
  let notify = () => {};
  const ended = (async () => {
    try {
      for await (const e of stream) {
        events.push(e);
        notify();
      }
      return undefined;
    } catch (err) {
      return err;
    } finally {
      notify();
    }
  })();
  return {
    events,
    opened: stream.opened,
    ended,
    stop: () => stream.cancel(),
    async waitFor(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`expected ${n} events, got ${events.length} after ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 200));
          notify = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return events.slice(0, n);
    },
  };
}

/**
 * The events `l` received before the change `mark` makes, once that change has arrived: a
 * listener hears changes in commit order, so any extra (a duplicate, a stray) delivered
 * before the mark is in the answer. Waiting on the mark itself, not on a guessed time.
 */
export async function eventsBefore(
  l: Collector,
  mark: () => Promise<{ reservation?: { id: string } | undefined }>,
  timeoutMs = 15_000,
): Promise<ListenResponse[]> {
  const id = (await mark()).reservation?.id;
  if (!id) throw new Error("the mark made no reservation");
  const giveUp = Date.now() + timeoutMs;
  for (;;) {
    const at = l.events.findIndex((e) => e.reservation?.id === id);
    if (at >= 0) return l.events.slice(0, at);
    if (Date.now() > giveUp) throw new Error(`the mark did not arrive within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
