import { setTimeout as sleep } from "node:timers/promises";
import { RpcError, type RsvpClient } from "../client/grpc-client.js";
import { Code } from "../domain/errors.js";
import { type ListenResponse, ReservationUpdateType } from "../gen/reservation/reservation_pb.js";
import { createBackoff } from "../shared/backoff.js";

/** What to follow, and from where (an empty cursor: from now on). */
export interface ListenRequest {
  readonly resourceId: string;
  readonly userId: string;
  readonly cursor: string;
}

/** Hooks and the stop signal of {@link resumableListen}. */
export interface ResumeOptions {
  readonly signal: AbortSignal;
  /** A stream is live; `cursor` is where it resumed from ("" on a first attempt from now on). */
  onOpen(cursor: string, reconnected: boolean): void;
  /** The stream ended (`error` undefined) or failed; the next attempt comes after `delayMs`. */
  onRetry(error: RpcError | undefined, delayMs: number): void;
}

// Errors that another attempt would only repeat: a bad filter or cursor, a pruned cursor.
const FINAL = new Set<number>([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.FailedPrecondition,
  Code.OutOfRange,
  Code.Unimplemented,
  Code.Unauthenticated,
]);

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;

/**
 * The change events of `listen`, surviving dropped connections and server restarts: each
 * new attempt resumes after the cursor of the last event the consumer took (or, before any,
 * the stream's starting cursor from its headers, or the latest bookmark), so nothing is lost
 * or repeated. Bookmarks keep the cursor fresh and are not yielded. Attempts back off
 * exponentially (with jitter) while they fail. Ends when `signal` aborts; throws when the
 * very first attempt fails or an error is final.
 */
export async function* resumableListen(
  client: RsvpClient,
  req: ListenRequest,
  opts: ResumeOptions,
): AsyncGenerator<ListenResponse> {
  let cursor = req.cursor;
  let everOpened = false;
  const backoff = createBackoff({ firstMs: FIRST_DELAY_MS, maxMs: MAX_DELAY_MS, jitter: 0.2 });
  while (!opts.signal.aborted) {
    const from = cursor;
    const stream = client.listen({ ...req, cursor: from, bookmarks: true });
    const cancel = () => stream.cancel();
    opts.signal.addEventListener("abort", cancel);
    stream.opened.then(
      (headers) => {
        // Live from here: a drop before the first event resumes from the starting cursor.
        if (cursor === "") cursor = headers["rsvp-cursor"] ?? "";
        opts.onOpen(from, everOpened);
        everOpened = true;
        backoff.reset();
      },
      () => {},
    );
    let error: RpcError | undefined;
    try {
      for await (const event of stream) {
        if (event.op !== ReservationUpdateType.BOOKMARK) yield event;
        // Only once the consumer has taken the event: a drop before then replays it.
        cursor = event.cursor;
      }
    } catch (err) {
      if (opts.signal.aborted) return;
      if (!everOpened || !(err instanceof RpcError) || FINAL.has(err.code)) throw err;
      error = err;
    } finally {
      opts.signal.removeEventListener("abort", cancel);
      stream.cancel();
    }
    if (opts.signal.aborted) return;
    const delayMs = backoff.next();
    opts.onRetry(error, delayMs);
    try {
      await sleep(delayMs, undefined, { signal: opts.signal });
    } catch {
      return; // aborted while waiting
    }
  }
}
