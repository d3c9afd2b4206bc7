import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { killAll, runCli } from "./helpers/cli-process.js";
import { backends } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

const [embedded] = backends;
assert.ok(embedded);

describe("rsvp webhook", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(embedded, undefined, { webhooks: { allowPrivate: true } });
  });
  after(async () => {
    await killAll();
    await t?.close();
  });
  // A CLI process starts slowly on a busy machine: a minute each before it counts as hung.
  const rsvp = (...args: string[]) => runCli([...args, "--server", t.app.grpcAddress], {}, 60_000);

  it("puts, gets, lists and deletes webhooks", async () => {
    const put = await rsvp(
      "webhook",
      "put",
      "billing",
      "http://127.0.0.1:9/hook",
      "--resource",
      "room-1",
      "-o",
      "json",
    );
    assert.equal(put.code, 0, put.stderr);
    const created = JSON.parse(put.stdout) as Record<string, unknown>;
    assert.equal(created.id, "billing");
    assert.equal(created.resourceId, "room-1");
    assert.match(String(created.secret), /^whsec_/, "the generated secret, this once");

    const table = await rsvp("webhook", "put", "slack", "http://127.0.0.1:9/slack");
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stderr, /secret \(shown only now\): whsec_/);
    assert.match(table.stdout, /slack\s+http:\/\/127\.0\.0\.1:9\/slack\s+all\s+enabled/);

    const got = await rsvp("webhook", "get", "billing", "-o", "json");
    assert.equal(got.code, 0, got.stderr);
    assert.equal((JSON.parse(got.stdout) as Record<string, unknown>).secret, undefined);

    const list = await rsvp("webhook", "list", "-o", "id");
    assert.deepEqual(list.stdout.trim().split("\n"), ["billing", "slack"]);

    const deleted = await rsvp("webhook", "delete", "billing");
    assert.equal(deleted.code, 0, deleted.stderr);
    const missing = await rsvp("webhook", "get", "billing");
    assert.equal(missing.code, 2, "refused: not found");

    const bad = await rsvp("webhook", "put", "x", "ftp://example.com/");
    assert.equal(bad.code, 1, "bad input");
    assert.match(bad.stderr, /http or https/);
  });
});
