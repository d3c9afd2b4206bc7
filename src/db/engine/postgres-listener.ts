import postgres from "postgres";
import { createBackoff } from "../../shared/backoff.js";
import type { Listening } from "./db.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * LISTEN on a dedicated connection that comes back whatever happens to it. postgres.js's own
 * `listen` re-subscribes after a dropped connection once, but swallows a failure of that
 * attempt (say, the new connection is killed too) and then stays silent for good; here every
 * close starts a subscribe loop with backoff that only ends once LISTEN succeeds, and
 * `onListen` runs after each success so the caller can catch up on what it missed.
 */
export async function listenReliably(
  url: string,
  options: postgres.Options<Record<string, postgres.PostgresType>>,
  channel: string,
  onNotify: () => void,
  onListen: () => void,
): Promise<Listening> {
  let closed = false;
  let subscribing = false;
  let again = false;
  const listenSql = `LISTEN "${channel.replace(/"/g, '""')}"`;

  const sql = postgres(url, {
    ...options,
    max: 1,
    max_lifetime: null,
    fetch_types: false,
    onclose: () => {
      if (!closed) void subscribe();
    },
    // postgres.js delivers every notification of the connection here (its listen uses it too).
    ...({ onnotify: (c: string) => c === channel && onNotify() } as object),
  });

  async function subscribe(): Promise<void> {
    if (subscribing) {
      again = true;
      return;
    }
    subscribing = true;
    try {
      const backoff = createBackoff({ firstMs: 25, maxMs: 2000 });
      while (!closed) {
        again = false;
        try {
          await sql.unsafe(listenSql);
          if (!again) break;
        } catch {
          await sleep(backoff.next());
        }
      }
    } finally {
      subscribing = false;
    }
    if (!closed) onListen();
  }

  await sql.unsafe(listenSql); // the first one must work: start-up reports the failure
  onListen();
  return {
    async unlisten() {
      closed = true;
      await sql.end({ timeout: 1 });
    },
  };
}
