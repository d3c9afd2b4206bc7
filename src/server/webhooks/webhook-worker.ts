import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Webhook as Signer } from "standardwebhooks";
import type { Db, Listening } from "../../db/engine/db.js";
import { readChanges } from "../../db/store/changes.js";
import {
  advanceWebhook,
  claimWebhooks,
  heldWebhook,
  type LeasedWebhook,
  poolsOf,
  recordFailure,
  releaseWebhooks,
} from "../../db/store/webhooks.js";
import { type Change, comparePositions } from "../../domain/change.js";
import { RsvpError } from "../../domain/errors.js";
import type { Logger } from "../logger.js";
import type { CursorCodec } from "../service/cursor-codec.js";
import { resolvePublic } from "./address-guard.js";
import { sendWebhook } from "./send-webhook.js";
import { messageId, webhookBody } from "./webhook-payload.js";
import type { WebhookSettings } from "./webhook-settings.js";

/** What a delivery attempt came to, for the metrics. */
export type DeliveryOutcome = "success" | "failure" | "disabled";

/** What the worker needs. */
export interface WebhookWorkerDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly settings: WebhookSettings;
  readonly cursors: () => Promise<CursorCodec>;
  /** Called after every attempt. */
  readonly onAttempt?: (outcome: DeliveryOutcome) => void;
}

/** The webhook deliveries of one server process. */
export interface WebhookWorker {
  /** Looks for webhooks to take on now (after a Put). */
  wake(): void;
  /** Per webhook this process delivers: seconds from the commit of the oldest undelivered change. */
  lagSeconds(): Map<string, number>;
  /** Stops delivering and hands every webhook back, so another process takes over at once. */
  close(): Promise<void>;
}

const PAGE = 100;
// A lease is renewed this often, and an attempt starts only with this much of it left beyond
// the receiver's time to answer: a process never delivers on a lease that may have passed.
const RENEW_SHARE = 3;
const LEASE_MARGIN_MS = 2000;

const micros = () => BigInt(Date.now()) * 1000n;

/**
 * Starts delivering webhooks. Each webhook is delivered by the one process holding its lease,
 * one change at a time in commit order: the next leaves only after the previous was answered
 * 2xx, and the position moves in the database with each. Failures are retried with doubling,
 * jittered waits up to `retryMaxMs`; a delivery failing for `disableAfterMs`, or answered
 * 410 Gone, disables the webhook.
 */
export async function startWebhookWorker(deps: WebhookWorkerDeps): Promise<WebhookWorker> {
  const { db, log, settings } = deps;
  const owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  const runners = new Map<string, { wake: () => void; lagMs: () => number; done: Promise<void> }>();
  const stop = new AbortController();
  let leaseOkUntil = 0;
  let ticking: Promise<Set<string>> | undefined;
  let closed = false;

  /** Takes or renews leases; starts a runner for each webhook newly held. */
  const tick = (): Promise<Set<string>> => {
    ticking ??= (async () => {
      const askedAt = Date.now();
      const held = await claimWebhooks(db, owner, settings.leaseMs / 1000);
      leaseOkUntil = askedAt + settings.leaseMs;
      for (const w of held) if (!runners.has(w.id) && !closed) start(w);
      return new Set(held.map((w) => w.id));
    })().finally(() => {
      ticking = undefined;
    });
    return ticking;
  };
  const tickQuietly = () =>
    void tick().catch((err: unknown) => log.warn({ err }, "claiming webhooks failed; retrying"));

  /** Waits `ms`, or less when woken or closed. */
  const pause = (ms: number, woken?: Promise<void>) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      void woken?.then(done);
      stop.signal.addEventListener("abort", done, { once: true });
    });

  function start(first: LeasedWebhook) {
    let wakeUp: () => void = () => {};
    let woken = new Promise<void>((resolve) => {
      wakeUp = resolve;
    });
    let pendingSince: bigint | undefined;
    const runner = {
      wake: () => wakeUp(),
      lagMs: () => (pendingSince === undefined ? 0 : Number((micros() - pendingSince) / 1000n)),
      done: Promise.resolve(),
    };
    const rearm = () => {
      woken = new Promise<void>((resolve) => {
        wakeUp = resolve;
      });
    };
    runners.set(first.id, runner);
    runner.done = run(first, {
      woken: () => woken,
      rearm,
      pending: (since) => {
        pendingSince = since;
      },
    })
      .catch((err: unknown) => log.error({ err, webhook: first.id }, "webhook delivery stopped"))
      .finally(() => runners.delete(first.id));
  }

  interface Signals {
    woken(): Promise<void>;
    rearm(): void;
    pending(since: bigint | undefined): void;
  }

  async function run(first: LeasedWebhook, signals: Signals) {
    const { id } = first;
    let position = first.position;
    // About firstRetryMs after the first failure, doubling, capped; jitter takes up to half off.
    const retryIn = (attempts: number) => {
      const base = Math.min(settings.firstRetryMs * 2 ** (attempts - 1), settings.retryMaxMs);
      return Math.round(base * (0.5 + Math.random() * 0.5));
    };
    while (!closed) {
      signals.rearm();
      try {
        const hook = await heldWebhook(db, id, owner);
        if (!hook) return; // lease gone, disabled or deleted
        const page = await readChanges(db, position, {
          limit: PAGE,
          filter: { resourceId: hook.resourceId, userId: hook.userId },
        });
        if (page.gone) {
          await recordFailure(db, id, owner, {
            error: "fell behind the retained change history",
            disable: "its position is older than the retained change history; changes were lost",
          });
          deps.onAttempt?.("disabled");
          return;
        }
        const pools = hook.pool
          ? await poolsOf(
              db,
              page.changes.map((c) => c.reservation.resourceId),
            )
          : undefined;
        for (const change of page.changes) {
          if (pools && pools.get(change.reservation.resourceId) !== hook.pool) continue;
          signals.pending(change.committedAt);
          for (;;) {
            if (closed) return;
            if (Date.now() + settings.timeoutMs + LEASE_MARGIN_MS > leaseOkUntil) {
              if (!(await tick()).has(id)) return;
            }
            const current = await heldWebhook(db, id, owner);
            if (!current) return;
            const outcome = await attempt(current, change);
            // Cut by shutdown: not the receiver's failure; the next holder sends it again.
            if (closed) return;
            if (outcome === undefined) {
              if (!(await advanceWebhook(db, id, owner, change.position, true))) return;
              deps.onAttempt?.("success");
              position = change.position;
              break;
            }
            // The database keeps the failure state, so a Put (which clears it) or a takeover
            // by another process counts from where it stands.
            const failingSince = current.failingSince ?? micros();
            const tooLong = Number((micros() - failingSince) / 1000n) >= settings.disableAfterMs;
            const disable = outcome.gone
              ? "the receiver answered 410 Gone"
              : tooLong
                ? `deliveries failed for ${Math.round(settings.disableAfterMs / 1000)} s`
                : undefined;
            if (!(await recordFailure(db, id, owner, { error: outcome.error, disable }))) return;
            deps.onAttempt?.(disable ? "disabled" : "failure");
            if (disable) {
              log.warn({ webhook: id, reason: disable, error: outcome.error }, "webhook disabled");
              return;
            }
            await pause(retryIn(current.attempts + 1));
          }
        }
        signals.pending(undefined);
        const last = page.changes.at(-1)?.position;
        let reached = last && comparePositions(last, position) > 0 ? last : position;
        if (page.changes.length < PAGE && comparePositions(page.horizon, reached) > 0)
          reached = page.horizon;
        if (comparePositions(reached, position) > 0) {
          // Past changes that did not match: remembered, so a restart does not read them again.
          if (!(await advanceWebhook(db, id, owner, reached, false))) return;
          position = reached;
        }
        if (page.changes.length === PAGE) continue;
      } catch (err) {
        log.warn({ err, webhook: id }, "webhook delivery hit a database error; retrying");
        await pause(1000);
        continue;
      }
      await pause(settings.leaseMs / RENEW_SHARE, signals.woken());
    }
  }

  /** One delivery attempt: undefined on 2xx, else why not (and whether it was 410 Gone). */
  async function attempt(
    hook: LeasedWebhook,
    change: Change,
  ): Promise<{ error: string; gone: boolean } | undefined> {
    const url = new URL(hook.url);
    let to: Awaited<ReturnType<typeof resolvePublic>>;
    try {
      to = await resolvePublic(url.hostname, settings.allowPrivate);
    } catch (err) {
      if (err instanceof RsvpError) return { error: err.message, gone: false };
      throw err;
    }
    const body = webhookBody(change, (await deps.cursors()).encode(change.position));
    const msgId = messageId(change);
    const now = new Date();
    const outcome = await sendWebhook(
      url,
      to,
      body,
      {
        "webhook-id": msgId,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": new Signer(hook.secret).sign(msgId, now, body),
      },
      settings.timeoutMs,
      stop.signal,
    );
    if (outcome.ok) return undefined;
    return { error: outcome.error, gone: outcome.status === 410 };
  }

  const wakeAll = () => {
    for (const r of runners.values()) r.wake();
  };
  const listening: Listening = await db.listen("rsvp_changes", wakeAll, wakeAll);
  const renew = setInterval(tickQuietly, settings.leaseMs / RENEW_SHARE);
  renew.unref();
  tickQuietly();

  return {
    wake: tickQuietly,
    lagSeconds: () => new Map([...runners].map(([id, r]) => [id, r.lagMs() / 1000])),
    async close() {
      closed = true;
      clearInterval(renew);
      stop.abort();
      wakeAll();
      await listening.unlisten().catch(() => {});
      await Promise.all([...runners.values()].map((r) => r.done));
      await ticking?.catch(() => {});
      await releaseWebhooks(db, owner).catch((err: unknown) =>
        log.warn({ err }, "handing webhooks back failed; their leases will expire"),
      );
    },
  };
}
