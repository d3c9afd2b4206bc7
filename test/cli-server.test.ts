import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type App, startApp } from "../src/server/app.js";
import { createLogger } from "../src/server/logger.js";
import { killAll, runCli, startServe } from "./helpers/cli-process.js";
import { postgresBackends, type TestDatabase } from "./helpers/databases.js";
import { freePort } from "./helpers/free-port.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

const LIMIT = { timeout: 120_000 };
// Creating an embedded database and migrating it takes a while on a busy machine.
const SLOW_MS = 60_000;
const MISSING = "00000000-0000-4000-8000-000000000000";

/** Exactly one `rsvp: …` line on stderr and nothing on stdout. */
function assertOneLine(r: { stdout: string; stderr: string }, expected: string) {
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, `rsvp: ${expected}\n`);
}

/** The URL with a password in it (the test clusters trust local connections and ignore it). */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

describe("rsvp serve and migrate name their database; a busy port is one line", () => {
  after(killAll);

  it("migrate and serve name the embedded database's directory", LIMIT, async () => {
    const dir = await mkdtemp(join(tmpdir(), "rsvp-named-"));
    try {
      const env = { DATABASE_URL: "", RSVP_DATA_DIR: dir };
      const first = await runCli(["migrate"], env, SLOW_MS);
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stdout,
        new RegExp(`^database: embedded \\(${dir}\\): applied 001_core\\.sql, `),
      );
      const again = await runCli(["migrate"], env, SLOW_MS);
      assert.deepEqual(
        [again.code, again.stdout],
        [0, `database: embedded (${dir}): up to date\n`],
      );
      const serve = await startServe(await freePort(), env);
      assert.match(serve.stdout, new RegExp(`, database: embedded \\(${dir}\\)\\n$`));
      await serve.stop("SIGTERM");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const backend of postgresBackends) {
    it("migrate and serve name the Postgres server, its password masked", LIMIT, async () => {
      const database: TestDatabase = await backend.create();
      try {
        const url = database.target.kind === "postgres" ? database.target.url : "";
        const secretUrl = withPassword(url, "s3cret-pw");
        const masked = withPassword(url, "***");
        const migrated = await runCli(["migrate"], { DATABASE_URL: secretUrl }, SLOW_MS);
        assert.equal(migrated.code, 0, migrated.stderr);
        assert.ok(
          migrated.stdout.startsWith(`database: postgres (${masked}): applied 001_core.sql, `),
          migrated.stdout,
        );
        const serve = await startServe(await freePort(), { DATABASE_URL: secretUrl });
        assert.ok(serve.stdout.endsWith(`, database: postgres (${masked})\n`), serve.stdout);
        assert.ok(!`${migrated.stdout}${serve.stdout}`.includes("s3cret-pw"));
        await serve.stop("SIGTERM");
      } finally {
        await database.drop();
      }
    });
  }

  it(
    "a port in use is said before the data directory's lock, and before any database is made",
    LIMIT,
    async () => {
      const port = await freePort();
      const dataDir = await mkdtemp(join(tmpdir(), "rsvp-port-"));
      const fresh = await mkdtemp(join(tmpdir(), "rsvp-port-fresh-"));
      const first = await startServe(port, { DATABASE_URL: "", RSVP_DATA_DIR: dataDir });
      try {
        const expected =
          `port ${port} is already in use: another process listens on 127.0.0.1:${port} ` +
          "(stop it, or set PORT to another port)";
        for (const dir of [dataDir, fresh]) {
          const second = await runCli(
            ["serve"],
            {
              HOST: "127.0.0.1",
              PORT: String(port),
              HTTP_PORT: "0",
              DATABASE_URL: "",
              RSVP_DATA_DIR: dir,
            },
            SLOW_MS,
          );
          assert.equal(second.code, 1);
          assertOneLine(second, expected);
        }
        assert.deepEqual(await readdir(fresh), [], "no database was made in the other directory");
      } finally {
        await first.stop("SIGTERM");
        await rm(dataDir, { recursive: true, force: true });
        await rm(fresh, { recursive: true, force: true });
      }
    },
  );

  it("a gRPC or HTTP port in use is one line naming it, and exit 1", LIMIT, async () => {
    const port = await freePort();
    const first = await startServe(port, { DATABASE_URL: "memory://" });
    const grpcBusy = await runCli(
      ["serve"],
      {
        HOST: "127.0.0.1",
        PORT: String(port),
        HTTP_PORT: "0",
        DATABASE_URL: "memory://",
      },
      SLOW_MS,
    );
    assert.equal(grpcBusy.code, 1);
    assertOneLine(
      grpcBusy,
      `port ${port} is already in use: another process listens on 127.0.0.1:${port} ` +
        "(stop it, or set PORT to another port)",
    );
    await first.stop("SIGTERM");

    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const address = holder.address();
    const httpPort = typeof address === "object" && address ? address.port : 0;
    try {
      const httpBusy = await runCli(
        ["serve"],
        { HOST: "127.0.0.1", PORT: "0", HTTP_PORT: String(httpPort), DATABASE_URL: "memory://" },
        SLOW_MS,
      );
      assert.equal(httpBusy.code, 1);
      assertOneLine(
        httpBusy,
        `port ${httpPort} is already in use: another process listens on 127.0.0.1:${httpPort} ` +
          "(stop it, or set HTTP_PORT to another port)",
      );
    } finally {
      holder.close();
    }
  });
});

for (const backend of postgresBackends) {
  describe(`the server answers but its database is down (${backend.name})`, () => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: App;
    after(async () => {
      await proxy?.restore().catch(() => {});
      await app?.close();
      await proxy?.close();
      await database?.drop();
    });

    it("the CLI blames the database, not the connection to the server", LIMIT, async () => {
      database = await backend.create();
      const url = new URL(database.target.kind === "postgres" ? database.target.url : "");
      proxy = await startTcpProxy(url.hostname, Number(url.port));
      url.port = String(proxy.port);
      app = await startApp({
        config: {
          host: "127.0.0.1",
          port: 0,
          httpPort: 0,
          database: { kind: "postgres", url: url.toString() },
          retentionSeconds: 3600,
        },
        log: createLogger("silent"),
      });
      const server = app.grpcAddress;
      const up = await runCli(["get", MISSING, "--server", server]);
      assert.equal(up.code, 2, "not found while the database is up");

      await proxy.cut();
      const down = await runCli(["get", MISSING, "--server", server]);
      assert.equal(down.code, 3);
      assertOneLine(
        down,
        `the server at ${server} answered but cannot serve the request: database unavailable, retry later`,
      );
      const query = await runCli(["query", "--server", server]);
      assert.equal(query.code, 3, "a stream says the same");
      assertOneLine(
        query,
        `the server at ${server} answered but cannot serve the request: database unavailable, retry later`,
      );
    });
  });
}
