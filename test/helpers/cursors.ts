import type { Position } from "../../src/domain/change.js";
import type { App } from "../../src/server/app.js";
import { createSecrets } from "../../src/server/service/secrets.js";

/**
 * A cursor for `position` signed with the database's own secret, as the server would issue
 * it: (0, 0) is "from the start of the retained history", which tests replay to see what
 * happened before they listened.
 */
export async function cursorAt(app: App, position: Position = { xid: 0n, seq: 0n }) {
  return (await createSecrets(app.db).cursors()).encode(position);
}
