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
import type { ResolvedAddress } from "./address-guard.js";
import { PinnedAgent } from "./pinned-agent.js";
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
  /** Resolves and checks a webhook's host before each delivery; a refusal is an RsvpError. */
  readonly resolve: (hostname: string) => Promise<ResolvedAddress>;
}

/** The webhook deliveries of one server process. */
export interface WebhookWorker {
  /** Looks for webhooks to take on now, and has those it delivers read again (after a Put or Delete). */
  wake(): void;
  /** Per webhook this process delivers: seconds from the commit of the oldest undelivered change. */
  lagSeconds(): Map<string, number>;
  /**
   * Stops delivering: no delivery starts any more, those in flight may finish until `grace`
   * aborts (at once without it), the position reached is stored, and every webhook is handed
   * back, so another process takes over at once.
   */
  close(grace?: AbortSignal): Promise<void>;
}

const PAGE = 100;
// A lease is renewed this often, and an attempt starts only with this much of it left beyond
// the receiver's time to answer: a process never delivers on a lease that may have passed.
const RENEW_SHARE = 3;
const LEASE_MARGIN_MS = 2000;
/**
 * The stored position is moved after this many deliveries answered 2xx, or once the oldest
 * not yet stored is this old, and always when the backlog is through, before a retry and at a
 * clean stop. A process that dies sends at most this many changes again (each with the same
 * `webhook-id`), besides the one it was delivering.
 */
const STORE_EVERY = 50;
const STORE_AFTER_MS = 100;

const micros = () => BigInt(Date.now()) * 1000n;

/**
 * Starts delivering webhooks. Each webhook is delivered by the one process holding its lease,
 * one change at a time in commit order: the next leaves only after the previous was answered
 * 2xx. The lease is renewed on a timer, and a delivery starts only while the lease certainly
 * outlasts it; the position moves in the database every few deliveries (see STORE_EVERY).
 * Failures are retried with doubling, jittered waits up to `retryMaxMs`; a delivery failing
 * for `disableAfterMs`, or answered 410 Gone, disables the webhook.
 */
export async function startWebhookWorker(deps: WebhookWorkerDeps): Promise<WebhookWorker> {
  const { db, log, settings, resolve } = deps;
  const owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  const runners = new Map<string, Runner>();
  // Ends waits at once on close; `cut` abandons deliveries in flight (the grace is over).
  const stop = new AbortController();
  const cut = new AbortController();
  let held = new Set<string>();
  let leaseOkUntil = 0;
  let ticking: Promise<void> | undefined;
  let closed = false;

  interface Runner {
    wake(): void;
    /** The webhook was put or deleted: read it again before its next delivery. */
    refresh(): void;
    lagMs(): number;
    done: Promise<void>;
  }

  /** Takes or renews leases; starts a runner for each webhook newly held. */
  const tick = (): Promise<void> => {
    ticking ??= (async () => {
      const askedAt = Date.now();
      const rows = await claimWebhooks(db, owner, settings.leaseMs / 1000);
      held = new Set(rows.map((w) => w.id));
      leaseOkUntil = askedAt + settings.leaseMs;
      for (const w of rows) if (!runners.has(w.id) && !closed) start(w);
    })().finally(() => {
      ticking = undefined;
    });
    return ticking;
  };
  const tickQuietly = () =>
    void tick().catch((err: unknown) => log.warn({ err }, "claiming webhooks failed; retrying"));
  /** Whether a delivery to `id` may start now: it ends, timed out at worst, inside the lease. */
  const leaseCovers = (id: string) =>
    held.has(id) && Date.now() + settings.timeoutMs + LEASE_MARGIN_MS <= leaseOkUntil;

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
    let stale = false;
    const runner: Runner = {
      wake: () => wakeUp(),
      refresh: () => {
        stale = true;
        wakeUp();
      },
      lagMs: () => (pendingSince === undefined ? 0 : Number((micros() - pendingSince) / 1000n)),
      done: Promise.resolve(),
    };
    runners.set(first.id, runner);
    const agent = new PinnedAgent();
    runner.done = run(first, agent, {
      woken: () => woken,
      rearm: () => {
        woken = new Promise<void>((resolve) => {
          wakeUp = resolve;
        });
      },
      pending: (since) => {
        pendingSince = since;
      },
      stale: () => {
        const was = stale;
        stale = false;
        return was;
      },
    })
      .catch((err: unknown) => log.error({ err, webhook: first.id }, "webhook delivery stopped"))
      .finally(() => {
        agent.close();
        runners.delete(first.id);
      });
  }

  interface Signals {
    woken(): Promise<void>;
    rearm(): void;
    pending(since: bigint | undefined): void;
    /** Whether the webhook was put or deleted since last asked. */
    stale(): boolean;
  }

  async function run(first: LeasedWebhook, agent: PinnedAgent, signals: Signals) {
    const { id } = first;
    // `position`: delivered (or passed over) up to here; `stored`: what the database says.
    let position = first.position;
    let stored = first.position;
    let unstored = 0;
    let unstoredSince = 0;
    let owned = true;
    /** Stores `position` (with a delivery since the last store when `delivered`). */
    const store = async (delivered: boolean) => {
      if (comparePositions(position, stored) <= 0) return;
      owned = await advanceWebhook(db, id, owner, position, delivered);
      if (owned) stored = position;
      unstored = 0;
    };
    // About firstRetryMs after the first failure, doubling, capped; jitter takes up to half off.
    const retryIn = (attempts: number) => {
      const base = Math.min(settings.firstRetryMs * 2 ** (attempts - 1), settings.retryMaxMs);
      return Math.round(base * (0.5 + Math.random() * 0.5));
    };
    try {
      await deliver();
    } finally {
      // A clean stop (or a lost lease) leaves the position where the deliveries got to.
      if (owned && unstored > 0) {
        await store(true).catch((err: unknown) =>
          log.warn({ err, webhook: id }, "storing a webhook's position failed"),
        );
      }
    }

    async function deliver() {
      while (!closed && owned) {
        signals.rearm();
        signals.stale();
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
          const signer = new Signer(hook.secret);
          let failing = hook.failingSince !== undefined;
          let attempts = hook.attempts;
          let failingSince = hook.failingSince;
          let cutShort = false;
          for (const change of page.changes) {
            if (pools && pools.get(change.reservation.resourceId) !== hook.pool) continue;
            if (signals.stale()) {
              cutShort = true; // read the webhook again before its next delivery
              break;
            }
            signals.pending(change.committedAt);
            for (;;) {
              if (closed) return;
              if (!leaseCovers(id)) {
                await tick();
                if (!leaseCovers(id)) return;
              }
              const outcome = await attempt(hook, signer, agent, change);
              // Cut by shutdown: not the receiver's failure; the next holder sends it again.
              if (outcome === "cut") return;
              if (outcome === undefined) {
                deps.onAttempt?.("success");
                position = change.position;
                if (unstored++ === 0) unstoredSince = Date.now();
                // After failures, at once: the database forgets them only then.
                if (
                  failing ||
                  unstored >= STORE_EVERY ||
                  Date.now() - unstoredSince >= STORE_AFTER_MS
                ) {
                  await store(true);
                  if (!owned) return;
                }
                failing = false;
                failingSince = undefined;
                attempts = 0;
                break;
              }
              // What was delivered is stored first: storing a position forgets failures.
              await store(true);
              if (!owned) return;
              // The database keeps the failure state, so a Put (which clears it) or a takeover
              // by another process counts from where it stands.
              failingSince ??= micros();
              const tooLong = Number((micros() - failingSince) / 1000n) >= settings.disableAfterMs;
              const disable = outcome.gone
                ? "the receiver answered 410 Gone"
                : tooLong
                  ? `deliveries failed for ${Math.round(settings.disableAfterMs / 1000)} s`
                  : undefined;
              if (!(await recordFailure(db, id, owner, { error: outcome.error, disable }))) return;
              failing = true;
              attempts++;
              deps.onAttempt?.(disable ? "disabled" : "failure");
              if (disable) {
                log.warn(
                  { webhook: id, reason: disable, error: outcome.error },
                  "webhook disabled",
                );
                return;
              }
              await pause(retryIn(attempts));
              if (signals.stale()) {
                cutShort = true; // a Put clears the failures: start over from the database
                break;
              }
            }
            if (cutShort) break;
          }
          if (cutShort) continue;
          signals.pending(undefined);
          const last = page.changes.at(-1)?.position;
          let reached = last && comparePositions(last, position) > 0 ? last : position;
          if (page.changes.length < PAGE && comparePositions(page.horizon, reached) > 0)
            reached = page.horizon;
          // Past changes that did not match too, so a restart does not read them again. Stored
          // when caught up; in a backlog, by the delivery rule unless nothing was delivered.
          position = reached;
          if (page.changes.length < PAGE || unstored === 0) await store(unstored > 0);
          if (!owned) return;
          if (page.changes.length === PAGE) continue;
        } catch (err) {
          log.warn({ err, webhook: id }, "webhook delivery hit a database error; retrying");
          await pause(1000);
          continue;
        }
        await pause(settings.leaseMs / RENEW_SHARE, signals.woken());
      }
    }
  }

  /**
   * One delivery attempt: undefined on 2xx, "cut" when shutdown abandoned it, else why not
   * (and whether it was 410 Gone). The host is resolved and checked every time; the connection
   * goes to the address just checked, a kept-alive one only if it leads there.
   */
  async function attempt(
    hook: LeasedWebhook,
    signer: Signer,
    agent: PinnedAgent,
    change: Change,
  ): Promise<{ error: string; gone: boolean } | "cut" | undefined> {
    const url = new URL(hook.url);
    let to: ResolvedAddress;
    try {
      to = await resolve(url.hostname);
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
        "webhook-signature": signer.sign(msgId, now, body),
      },
      settings.timeoutMs,
      cut.signal,
      agent.for(url.protocol, to),
    );
    if (cut.signal.aborted) return "cut";
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
    wake() {
      for (const r of runners.values()) r.refresh();
      tickQuietly();
    },
    lagSeconds: () => new Map([...runners].map(([id, r]) => [id, r.lagMs() / 1000])),
    async close(grace) {
      closed = true;
      clearInterval(renew);
      stop.abort();
      if (grace?.aborted) cut.abort();
      else grace?.addEventListener("abort", () => cut.abort(), { once: true });
      if (!grace) cut.abort();
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
