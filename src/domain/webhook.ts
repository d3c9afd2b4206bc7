import { invalidArgument } from "./errors.js";
import type { Micros } from "./reservation.js";
import { parseName, parseOptionalName } from "./validate.js";

/** What a caller sets on a webhook. */
export interface WebhookSpec {
  readonly id: string;
  readonly url: string;
  readonly resourceId?: string | undefined;
  readonly userId?: string | undefined;
  readonly pool?: string | undefined;
  /** Undefined: generate one (a new webhook) or keep the current one. */
  readonly secret?: string | undefined;
}

/** A stored webhook and how its deliveries go. */
export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly resourceId: string | undefined;
  readonly userId: string | undefined;
  readonly pool: string | undefined;
  readonly secret: string;
  readonly createdAt: Micros;
  readonly disabled: boolean;
  readonly disabledReason: string;
  readonly lastSuccessAt: Micros | undefined;
  readonly lastError: string;
}

/** The longest URL accepted. */
export const MAX_URL_LENGTH = 2048;

// Standard Webhooks secrets: "whsec_" and base64 of 24 to 64 random bytes.
const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** A webhook's settings as `PutWebhook` takes them, checked in one place. */
export function parseWebhookSpec(input: {
  id: string;
  url: string;
  resourceId: string;
  userId: string;
  pool: string;
  secret: string;
}): WebhookSpec {
  const id = parseName("webhook.id", input.id);
  if (input.url.length > MAX_URL_LENGTH) {
    throw invalidArgument(`webhook.url is longer than ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw invalidArgument("webhook.url is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalidArgument("webhook.url must be http or https");
  }
  if (url.username !== "" || url.password !== "") {
    throw invalidArgument("webhook.url must not carry credentials; the signature authenticates");
  }
  let secret: string | undefined;
  if (input.secret !== "") {
    const bytes = Buffer.from(SECRET.exec(input.secret)?.[1] ?? "", "base64").length;
    if (bytes < 24 || bytes > 64) {
      throw invalidArgument('webhook.secret must be "whsec_" and base64 of 24 to 64 bytes');
    }
    secret = input.secret;
  }
  return {
    id,
    url: url.toString(),
    resourceId: parseOptionalName("webhook.resource_id", input.resourceId),
    userId: parseOptionalName("webhook.user_id", input.userId),
    pool: parseOptionalName("webhook.pool", input.pool),
    secret,
  };
}
