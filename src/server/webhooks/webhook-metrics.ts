import { Counter, Gauge, type Registry } from "prom-client";
import type { DeliveryOutcome, WebhookWorker } from "./webhook-worker.js";

/** Webhook metrics: deliveries by outcome, and the lag of each webhook this process delivers. */
export function webhookMetrics(registry: Registry) {
  const attempts = new Counter({
    name: "rsvp_webhook_deliveries_total",
    help: "Webhook delivery attempts, by outcome (success, failure, disabled).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  return {
    attempted: (outcome: DeliveryOutcome) => attempts.inc({ outcome }),
    /** Reports the lag of `worker`'s webhooks from now on. */
    track(worker: WebhookWorker) {
      new Gauge({
        name: "rsvp_webhook_lag_seconds",
        help: "Per webhook delivered here: from the commit of the change being delivered to now (0 when caught up).",
        labelNames: ["webhook"],
        registers: [registry],
        collect() {
          this.reset();
          for (const [webhook, seconds] of worker.lagSeconds()) this.set({ webhook }, seconds);
        },
      });
    },
  };
}
