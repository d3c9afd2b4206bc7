import type { Db } from "../../db/engine/db.js";
import { latestVersion } from "../../db/engine/migrate.js";
import type { Logger } from "../logger.js";
import { type HttpRoute, isGet } from "../transport/http-route.js";
import type { HealthService } from "./health.js";

// A database that does not answer within this long is as good as down, for a probe.
const CHECK_TIMEOUT_MS = 2000;

/** Why the server is not ready, or undefined when it is. */
export type NotReady = string | undefined;

// The migrations this build carries do not change while it runs: read them once.
let latest: Promise<number> | undefined;
function latestMigration(): Promise<number> {
  latest ??= latestVersion();
  return latest;
}

/**
 * The latest answer of the database checks, whoever ran them (the probe or `/readyz`): what
 * `/readyz` says when the database is too busy to answer a check at once.
 */
export interface LastCheck {
  reason: NotReady;
}

/**
 * Asks the database whether it answers and has this build's migrations: one query does both.
 * Never throws; the reason it gives is for operators (it names no SQL and no secrets). The
 * answer is kept in `last`, when given.
 */
export async function checkDatabase(db: Db, last?: LastCheck): Promise<NotReady> {
  const reason = await runCheck(db);
  if (last) last.reason = reason;
  return reason;
}

async function runCheck(db: Db): Promise<NotReady> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<NotReady>((resolve) => {
    timer = setTimeout(() => resolve("database did not answer in time"), CHECK_TIMEOUT_MS);
  });
  const check = (async (): Promise<NotReady> => {
    const [want, rows] = await Promise.all([
      latestMigration(),
      db.query<{ v: number | null }>("SELECT max(version) AS v FROM rsvp.schema_migrations"),
    ]);
    const have = Number(rows[0]?.v ?? 0);
    return have === want ? undefined : `database schema is at version ${have}, want ${want}`;
  })().catch(() => "database unreachable");
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A periodic database probe that keeps the health service's status current. */
export interface Probe {
  stop(): void;
}

/** Probes every `intervalMs` (never two at once), logging each change of state once. */
export function startProbe(
  db: Db,
  health: HealthService,
  intervalMs: number,
  log: Logger,
  last?: LastCheck,
): Probe {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    const reason = await checkDatabase(db, last);
    if (stopped) return;
    if (!reason && !health.serving) log.info("database answers again: SERVING");
    if (reason && health.serving) log.warn({ reason }, "database check failed: NOT_SERVING");
    health.setServing(!reason);
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  timer = setTimeout(tick, intervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// How long `/readyz` waits for its own check before answering with the latest one: an
// orchestrator's probe must be answered promptly even while the database is saturated.
const READY_ANSWER_MS = 50;

/**
 * `GET /healthz`: the process is alive (200). `GET /readyz`: it should get traffic (200), or
 * not (503, with the reason): the database is unreachable, lacks migrations, or the server
 * is shutting down. `/readyz` checks the database; when the check takes longer than 50 ms (a
 * saturated database still answers, only later) it answers with the latest check's result.
 */
export function healthRoutes(db: Db, closing: () => boolean, last: LastCheck): HttpRoute {
  const ready = async (): Promise<NotReady> => {
    let timer: NodeJS.Timeout | undefined;
    const latest = new Promise<NotReady>((resolve) => {
      timer = setTimeout(() => resolve(last.reason), READY_ANSWER_MS);
    });
    try {
      return await Promise.race([checkDatabase(db, last), latest]);
    } finally {
      clearTimeout(timer);
    }
  };
  return async (req, res) => {
    if (isGet(req, "/healthz")) {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok\n");
      return true;
    }
    if (!isGet(req, "/readyz")) return false;
    const reason = closing() ? "shutting down" : await ready();
    res.writeHead(reason ? 503 : 200, { "content-type": "text/plain" });
    res.end(reason ? `not ready: ${reason}\n` : "ready\n");
    return true;
  };
}
