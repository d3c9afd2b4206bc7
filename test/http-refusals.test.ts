import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { backends } from "./helpers/databases.js";
import { httpBase } from "./helpers/harness.js";
import { startTestServer, type TestServer } from "./helpers/test-server.js";

/** A request as curl sends it, and the answer: status, headers and the body parsed. */
async function send(url: string, init: RequestInit) {
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    allow: res.headers.get("allow"),
    text,
  };
}

describe("every refusal of the HTTP port has a Connect error body", () => {
  let t: TestServer;
  let base: string;
  before(async () => {
    const [embedded] = backends;
    assert.ok(embedded);
    t = await startTestServer(embedded);
    base = httpBase(t.app);
  });
  after(() => t?.close());

  const cases: Array<[string, string, RequestInit, number, string, RegExp]> = [
    [
      "no content type",
      "/reservation.ReservationService/get",
      // bytes: fetch names no content type for them, as curl without -H
      { method: "POST", body: new TextEncoder().encode("{}") },
      415,
      "invalid_argument",
      /no content type: send application\/json/,
    ],
    [
      "text/plain",
      "/reservation.ReservationService/get",
      { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" },
      415,
      "invalid_argument",
      /content type "text\/plain": send application\/json/,
    ],
    [
      "PUT",
      "/reservation.ReservationService/get",
      { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" },
      405,
      "unimplemented",
      /reservation\.ReservationService\/get takes POST/,
    ],
    [
      "an unknown procedure",
      "/reservation.ReservationService/nope",
      { method: "POST", headers: { "content-type": "application/json" }, body: "{}" },
      404,
      "unimplemented",
      /no procedure reservation\.ReservationService\/nope/,
    ],
    [
      "an unknown path",
      "/nothing/here?x=1",
      { method: "GET" },
      404,
      "not_found",
      /nothing at GET \/nothing\/here$/,
    ],
    ["DELETE on the page", "/", { method: "DELETE" }, 404, "not_found", /nothing at DELETE \/$/],
  ];
  for (const [what, path, init, status, code, message] of cases) {
    it(`${what}: HTTP ${status}, ${code}`, async () => {
      const res = await send(`${base}${path}`, init);
      assert.equal(res.status, status);
      assert.equal(res.type, "application/json");
      const body = JSON.parse(res.text) as { code: string; message: string };
      assert.deepEqual(Object.keys(body), ["code", "message"]);
      assert.equal(body.code, code);
      assert.match(body.message, message);
      if (status === 405) assert.equal(res.allow, "POST");
    });
  }
});
