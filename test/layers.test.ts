import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, it } from "node:test";

// Imports run one way: each layer of src/ may use only the layers below it (and itself).
const BELOW: Record<string, readonly string[]> = {
  gen: [],
  domain: [],
  shared: [],
  protocol: ["domain", "gen", "shared"],
  db: ["domain", "shared"],
  auth: ["domain", "gen", "shared"],
  client: ["protocol", "domain", "gen", "shared"],
  server: ["auth", "db", "protocol", "domain", "gen", "shared"],
  cli: ["client", "auth", "db", "protocol", "domain", "gen", "shared"],
};
// The CLI's `serve` and `migrate` start the server: its entry points, nothing inside it.
const SERVER_ENTRY = ["src/server/app.js", "src/server/config.js", "src/server/logger.js"];

// Inside src/server, the rooms run one way too. The files at its top are either the base every
// room may use (logger, limits) or the entry that wires the rooms together (app, config,
// startup). feed/ is the change feed, transport/ the wire, ops/ what watches and tends the
// server (metrics, health, sweepers), service/ the rpc handlers, calendar/ the ICS feeds and
// webhooks/ the webhook rpcs and their delivery (both built on the handlers' codecs).
const SERVER_BASE = ["logger", "limits"];
const SERVER_BELOW: Record<string, readonly string[]> = {
  base: [],
  feed: ["base"],
  transport: ["base"],
  ops: ["feed", "transport", "base"],
  service: ["feed", "transport", "base"],
  calendar: ["feed", "transport", "base"],
  webhooks: ["service", "feed", "transport", "base"],
  entry: ["feed", "transport", "ops", "service", "calendar", "webhooks", "base"],
};

/** The room of src/server a file is in: its folder, or base/entry for the files at the top. */
function serverRoomOf(file: string): string {
  const [top = "", inside] = relative("src/server", file).split("/");
  if (inside !== undefined) return top;
  return SERVER_BASE.includes(top.replace(/\.(ts|js)$/, "")) ? "base" : "entry";
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "gen" ? [] : sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

const IMPORT = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;
const layerOf = (file: string) => relative("src", file).split("/")[0] ?? "";

/** Every relative import in src, as [importing file, imported file]. */
function imports(): Array<[string, string]> {
  return sources("src").flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(IMPORT)].map((m): [string, string] => [
      file,
      normalize(join(dirname(file), m[1] ?? "")),
    ]),
  );
}

describe("layout", () => {
  it("imports run one way: no layer of src imports one above it", () => {
    const wrong = imports()
      .filter(([from, to]) => {
        const a = layerOf(from);
        const b = layerOf(to);
        if (a === "cli" && SERVER_ENTRY.includes(to)) return false;
        return a !== b && !(BELOW[a] ?? []).includes(b);
      })
      .map(([from, to]) => `${from} -> ${to}`);
    assert.deepEqual(wrong, []);
  });

  it("inside src/server, imports run one way between its rooms", () => {
    const wrong = imports()
      .filter(([from, to]) => layerOf(from) === "server" && layerOf(to) === "server")
      .filter(([from, to]) => {
        const a = serverRoomOf(from);
        const b = serverRoomOf(to);
        return a !== b && !(SERVER_BELOW[a] ?? []).includes(b);
      })
      .map(([from, to]) => `${from} -> ${to}`);
    assert.deepEqual(wrong, []);
    // Every room holds files: a room renamed away leaves no rule that checks nothing.
    const rooms = new Set(sources("src/server").map(serverRoomOf));
    assert.deepEqual([...rooms].sort(), Object.keys(SERVER_BELOW).sort());
  });

  it("no two files import each other", () => {
    const edges = new Set(imports().map(([from, to]) => `${from}|${to.replace(/\.js$/, ".ts")}`));
    const mutual = [...edges].filter((e) => {
      const [a, b] = e.split("|");
      return edges.has(`${b}|${a}`);
    });
    assert.deepEqual(mutual, []);
  });
});
