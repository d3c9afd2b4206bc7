import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { callerOf, type Principal } from "../../auth/caller.js";
import type { Queryable } from "../../db/engine/db.js";
import { feedHorizon } from "../../db/store/changes.js";
import * as store from "../../db/store/webhooks.js";
import { invalidArgument, notFound, permissionDenied } from "../../domain/errors.js";
import { parseName } from "../../domain/validate.js";
import { parseWebhookSpec, type Webhook } from "../../domain/webhook.js";
import {
  type Webhook as WebhookMessage,
  WebhookSchema,
  type WebhookService,
} from "../../gen/reservation/webhook_pb.js";
import { microsToTimestamp } from "../../protocol/convert.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../service/page-token.js";
import type { ResolvedAddress } from "./address-guard.js";

/** A webhook as its wire message; the secret only when `withSecret`. */
function toProto(w: Webhook, withSecret: boolean): WebhookMessage {
  return create(WebhookSchema, {
    id: w.id,
    url: w.url,
    resourceId: w.resourceId ?? "",
    userId: w.userId ?? "",
    pool: w.pool ?? "",
    secret: withSecret ? w.secret : "",
    createdAt: microsToTimestamp(w.createdAt),
    disabled: w.disabled,
    disabledReason: w.disabledReason,
    lastSuccessAt: w.lastSuccessAt === undefined ? undefined : microsToTimestamp(w.lastSuccessAt),
    lastError: w.lastError,
  });
}

function assertAdmin(caller: Principal | undefined) {
  if (caller && caller.role !== "admin")
    throw permissionDenied("only an admin may manage webhooks");
}

const encodeToken = (last: string) => Buffer.from(last).toString("base64url");

/** What the webhook service needs. */
export interface WebhookServiceDeps {
  readonly db: Queryable;
  /** Resolves and checks a webhook's host (refusing private addresses unless allowed). */
  readonly resolve: (hostname: string) => Promise<ResolvedAddress>;
  /** Tells this process's deliveries that a webhook was put or deleted. */
  readonly onChange: () => void;
}

/** WebhookService: admins only (everyone while authentication is off). */
export function createWebhookService(deps: WebhookServiceDeps): ServiceImpl<typeof WebhookService> {
  const { db } = deps;
  return {
    async putWebhook(req, ctx) {
      assertAdmin(callerOf(ctx));
      const w = req.webhook;
      if (!w) throw invalidArgument("webhook is required");
      const spec = parseWebhookSpec(w);
      // Checked here for a clear answer, and again before every delivery (names move).
      await deps.resolve(new URL(spec.url).hostname);
      const generated = `whsec_${randomBytes(32).toString("base64")}`;
      const { webhook, created } = await store.putWebhook(
        db,
        spec,
        generated,
        await feedHorizon(db),
      );
      deps.onChange();
      return toProto(webhook, created && spec.secret === undefined);
    },

    async getWebhook(req, ctx) {
      assertAdmin(callerOf(ctx));
      const id = parseName("id", req.id);
      const w = await store.getWebhook(db, id);
      if (!w) throw notFound(`webhook ${JSON.stringify(id)} does not exist`);
      return toProto(w, false);
    },

    async listWebhooks(req, ctx) {
      assertAdmin(callerOf(ctx));
      if (req.pageSize < 0) throw invalidArgument("page_size must not be negative");
      const size = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const after = Buffer.from(req.pageToken, "base64url").toString();
      const rows = await store.listWebhooks(db, after, size + 1);
      const page = rows.slice(0, size);
      const last = page.at(-1);
      return {
        webhooks: page.map((w) => toProto(w, false)),
        nextPageToken: rows.length > size && last ? encodeToken(last.id) : "",
      };
    },

    async deleteWebhook(req, ctx) {
      assertAdmin(callerOf(ctx));
      const id = parseName("id", req.id);
      if (!(await store.deleteWebhook(db, id))) {
        throw notFound(`webhook ${JSON.stringify(id)} does not exist`);
      }
      deps.onChange();
      return {};
    },
  };
}
