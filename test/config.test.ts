import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { redactPostgresUrl } from "../src/db/engine/postgres-url.js";
import { ConfigError, loadConfig } from "../src/server/config.js";
import { createStreamQuota, loadLimits } from "../src/server/limits.js";

// The configuration as the environment gives it: parsed and checked before anything starts.
describe("configuration", () => {
  it("defaults to loopback, port 50051, HTTP 8080 and the embedded ./data", () => {
    const c = loadConfig({});
    assert.equal(c.host, "127.0.0.1");
    assert.equal(c.port, 50051);
    assert.equal(c.httpPort, 8080);
    assert.deepEqual(c.database, { kind: "embedded", dataDir: "./data" });
    assert.deepEqual(loadConfig({ DATABASE_URL: "memory://" }).database, {
      kind: "embedded",
      dataDir: "memory://",
    });
    assert.deepEqual(loadConfig({ DATABASE_URL: "postgres://h/db" }).database, {
      kind: "postgres",
      url: "postgres://h/db",
      statementTimeoutMs: 15_000,
      lockTimeoutMs: 5_000,
    });
    // Several hosts (failover), as libpq writes them, with the password kept out of logs.
    const multi = "postgres://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write";
    assert.equal(loadConfig({ DATABASE_URL: multi }).database.kind, "postgres");
    assert.equal(
      redactPostgresUrl(multi),
      "postgres://u:***@h1:5432,h2:5433/db?target_session_attrs=read-write",
    );
    const tuned = { DATABASE_URL: "postgres://h/db", RSVP_LOCK_TIMEOUT_MS: "0" };
    assert.deepEqual(loadConfig({ ...tuned, RSVP_STATEMENT_TIMEOUT_MS: "250" }).database, {
      kind: "postgres",
      url: "postgres://h/db",
      statementTimeoutMs: 250,
      lockTimeoutMs: 0,
    });
  });

  it("rejects bad values with a ConfigError naming the setting", () => {
    for (const [env, name] of [
      [{ PORT: "http" }, /PORT/],
      [{ PORT: "70000" }, /PORT/],
      [{ HTTP_PORT: "-1" }, /HTTP_PORT/],
      [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL/],
      [{ RSVP_CHANGE_RETENTION_SECONDS: "soon" }, /RETENTION/],
      [{ DATABASE_URL: "postgres://h/db", RSVP_STATEMENT_TIMEOUT_MS: "1s" }, /STATEMENT_TIMEOUT/],
      [{ DATABASE_URL: "postgres://h/db", RSVP_LOCK_TIMEOUT_MS: "-1" }, /LOCK_TIMEOUT/],
      [{ RSVP_MAX_QUEUED_RESERVES: "0" }, /QUEUED_RESERVES/],
    ] as const) {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && name.test(e.message),
      );
    }
  });

  it("the server reports a bad setting as one line on stderr and exits non-zero", () => {
    const run = spawnSync(process.execPath, ["dist/src/cli/main.js", "serve"], {
      env: { ...process.env, PORT: "not-a-port", DATABASE_URL: "memory://" },
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.notEqual(run.status, 0);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /PORT must be a port number/);
  });

  it("reads every number setting, and the lists, as given", () => {
    const c = loadConfig({
      HOST: "0.0.0.0",
      PORT: "0",
      HTTP_PORT: "9090",
      RSVP_CHANGE_RETENTION_SECONDS: "3600",
      RSVP_BOOKMARK_SECONDS: "2.5",
      RSVP_SHUTDOWN_GRACE_MS: "1500",
      RSVP_HEALTH_PROBE_MS: "200",
      RSVP_STARTUP_RETRY_SECONDS: "5",
      RSVP_ALLOWED_HOSTS: " Rsvp.Example.com , [::1],10.0.0.1 ",
      RSVP_INSECURE: "1",
    });
    assert.equal(c.host, "0.0.0.0");
    assert.equal(c.port, 0);
    assert.equal(c.httpPort, 9090);
    assert.equal(c.retentionSeconds, 3600);
    assert.equal(c.bookmarkSeconds, 2.5);
    assert.equal(c.shutdownGraceMs, 1500);
    assert.equal(c.healthProbeMs, 200);
    assert.equal(c.startupRetrySeconds, 5);
    assert.deepEqual(c.allowedHosts, ["rsvp.example.com", "[::1]", "10.0.0.1"]);
    assert.equal(c.insecure, true);
    const d = loadConfig({});
    assert.equal(d.retentionSeconds, 7 * 86400);
    assert.equal(d.bookmarkSeconds, 10);
    assert.equal(d.shutdownGraceMs, 10_000);
    assert.equal(d.healthProbeMs, 1000);
    assert.equal(d.startupRetrySeconds, 60);
    assert.deepEqual(d.allowedHosts, []);
    assert.equal(d.insecure, false);
  });

  it("the limits: defaults, each variable, and only whole numbers of at least 1", () => {
    assert.deepEqual(loadLimits({}), {
      maxQueryRows: 100_000,
      maxListensPerCaller: 256,
      maxListensPerPeer: 1024,
      maxStreamsPerConnection: 1000,
      maxStreamsPerPeer: 2048,
      maxQueuedReserves: 1024,
    });
    assert.deepEqual(
      loadLimits({
        RSVP_MAX_QUERY_ROWS: "10",
        RSVP_MAX_LISTENS_PER_CALLER: "2",
        RSVP_MAX_STREAMS_PER_CONNECTION: "30",
        RSVP_MAX_QUEUED_RESERVES: "4",
        RSVP_MAX_LISTENS_PER_PEER: "5",
        RSVP_MAX_STREAMS_PER_PEER: "6",
      }),
      {
        maxQueryRows: 10,
        maxListensPerCaller: 2,
        maxListensPerPeer: 5,
        maxStreamsPerConnection: 30,
        maxStreamsPerPeer: 6,
        maxQueuedReserves: 4,
      },
    );
    for (const bad of ["0", "-3", "1.5", "many", "1e30"]) {
      assert.throws(
        () => loadLimits({ RSVP_MAX_LISTENS_PER_CALLER: bad }),
        (e: unknown) => e instanceof ConfigError && /RSVP_MAX_LISTENS_PER_CALLER/.test(e.message),
        bad,
      );
    }
  });

  it("a stream quota admits `max` streams per key and gives slots back once", () => {
    const quota = createStreamQuota(2, "listen");
    const a1 = quota.acquire("a");
    quota.acquire("a");
    assert.throws(() => quota.acquire("a"), /listen/);
    quota.acquire("b"); // keys are counted apart
    a1();
    a1(); // a second release gives back nothing more
    quota.acquire("a");
    assert.throws(() => quota.acquire("a"), /listen/);
  });

  it("rejects hosts, allowed hosts and numbers it cannot use", () => {
    for (const [env, name] of [
      [{ HOST: "a b" }, /HOST/],
      [{ RSVP_ALLOWED_HOSTS: "example.com:8080" }, /RSVP_ALLOWED_HOSTS/],
      [{ RSVP_BOOKMARK_SECONDS: "0" }, /RSVP_BOOKMARK_SECONDS/],
      [{ RSVP_SHUTDOWN_GRACE_MS: "1.5" }, /RSVP_SHUTDOWN_GRACE_MS/],
      [{ RSVP_HEALTH_PROBE_MS: "0" }, /RSVP_HEALTH_PROBE_MS/],
      [{ RSVP_STARTUP_RETRY_SECONDS: "-1" }, /RSVP_STARTUP_RETRY_SECONDS/],
    ] as const) {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && name.test(e.message),
      );
    }
  });
});
