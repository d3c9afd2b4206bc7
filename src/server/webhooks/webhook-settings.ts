import { ConfigError } from "../../domain/config-error.js";

/** How webhooks are delivered; each has a default. */
export interface WebhookSettings {
  /** Allow URLs that resolve to loopback, private or link-local addresses (RSVP_WEBHOOK_ALLOW_PRIVATE=1). */
  readonly allowPrivate: boolean;
  /** The first retry waits about this long; each one after doubles, with jitter. */
  readonly firstRetryMs: number;
  /** The longest wait between retries (RSVP_WEBHOOK_RETRY_MAX_SECONDS, default 10 minutes). */
  readonly retryMaxMs: number;
  /** A delivery failing this long disables its webhook (RSVP_WEBHOOK_DISABLE_AFTER_SECONDS, default 3 days). */
  readonly disableAfterMs: number;
  /** How long a process's hold on a webhook lasts without renewal (RSVP_WEBHOOK_LEASE_SECONDS, default 30). */
  readonly leaseMs: number;
  /** How long a receiver has to answer (10 s). */
  readonly timeoutMs: number;
}

export const WEBHOOK_DEFAULTS: WebhookSettings = {
  allowPrivate: false,
  firstRetryMs: 1000,
  retryMaxMs: 600_000,
  disableAfterMs: 3 * 86_400_000,
  leaseMs: 30_000,
  timeoutMs: 10_000,
};

function seconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new ConfigError(
      `${name} must be a positive number of seconds, got ${JSON.stringify(value)}`,
    );
  }
  return n * 1000;
}

/** The webhook settings the environment sets (the rest default). */
export function loadWebhookSettings(env: NodeJS.ProcessEnv): Partial<WebhookSettings> {
  const settings: { -readonly [K in keyof WebhookSettings]?: WebhookSettings[K] } = {
    allowPrivate: env.RSVP_WEBHOOK_ALLOW_PRIVATE === "1",
  };
  const retryMaxMs = seconds("RSVP_WEBHOOK_RETRY_MAX_SECONDS", env.RSVP_WEBHOOK_RETRY_MAX_SECONDS);
  if (retryMaxMs !== undefined) settings.retryMaxMs = retryMaxMs;
  const disableAfterMs = seconds(
    "RSVP_WEBHOOK_DISABLE_AFTER_SECONDS",
    env.RSVP_WEBHOOK_DISABLE_AFTER_SECONDS,
  );
  if (disableAfterMs !== undefined) settings.disableAfterMs = disableAfterMs;
  const leaseMs = seconds("RSVP_WEBHOOK_LEASE_SECONDS", env.RSVP_WEBHOOK_LEASE_SECONDS);
  // A delivery (up to the 10 s timeout) must fit in a lease with room to spare, or another
  // process could take the webhook over while it is still in flight.
  if (leaseMs !== undefined && leaseMs < 15_000) {
    throw new ConfigError("RSVP_WEBHOOK_LEASE_SECONDS must be at least 15");
  }
  if (leaseMs !== undefined) settings.leaseMs = leaseMs;
  return settings;
}
