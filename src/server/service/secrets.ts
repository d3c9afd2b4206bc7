import type { Queryable } from "../../db/engine/db.js";
import { getSetting } from "../../db/store/settings.js";
import { type CursorCodec, createCursorCodec } from "./cursor-codec.js";
import { createPageTokens } from "./page-token.js";

/** The codecs that MAC what clients hold, with the secret every server process shares. */
export interface Secrets {
  pageTokens(): Promise<ReturnType<typeof createPageTokens>>;
  cursors(): Promise<CursorCodec>;
}

/** Loads the secrets from rsvp.settings once; a database hiccup is retried on the next call. */
export function createSecrets(db: Queryable): Secrets {
  const cached = <T>(load: () => Promise<T>) => {
    let value: Promise<T> | undefined;
    return () => {
      if (!value) {
        value = load();
        value.catch(() => {
          value = undefined; // must not poison the cache
        });
      }
      return value;
    };
  };
  const key = cached(() => getSetting(db, "page_token_key"));
  return {
    pageTokens: cached(() => key().then(createPageTokens)),
    cursors: cached(async () =>
      createCursorCodec(await key(), await getSetting(db, "database_id")),
    ),
  };
}
