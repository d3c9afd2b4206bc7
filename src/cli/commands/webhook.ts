import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { type Webhook, WebhookService } from "../../gen/reservation/webhook_pb.js";
import { type ClientOptions, clientCommand, withServiceClient } from "../client-command.js";
import { formatTable } from "../format.js";
import { printJson, printLines } from "../output.js";

interface PutOptions extends ClientOptions {
  readonly resource: string;
  readonly user: string;
  readonly pool: string;
  readonly secret: string;
}

const COLUMNS = ["ID", "URL", "FILTERS", "STATE", "LAST SUCCESS", "LAST ERROR"];

const iso = (t: Timestamp | undefined) =>
  t ? new Date(Number(t.seconds) * 1000).toISOString().replace(/\.000Z$/, "Z") : "";

function filters(w: Webhook): string {
  const set = [
    ["resource", w.resourceId],
    ["user", w.userId],
    ["pool", w.pool],
  ].filter(([, v]) => v !== "");
  return set.map(([k, v]) => `${k}=${v}`).join(" ") || "all";
}

const cells = (w: Webhook) => [
  w.id,
  w.url,
  filters(w),
  w.disabled ? `disabled: ${w.disabledReason}` : "enabled",
  iso(w.lastSuccessAt) || "-",
  w.lastError || "-",
];

const json = (w: Webhook) => ({
  id: w.id,
  url: w.url,
  resourceId: w.resourceId,
  userId: w.userId,
  pool: w.pool,
  ...(w.secret ? { secret: w.secret } : {}),
  createdAt: iso(w.createdAt),
  disabled: w.disabled,
  disabledReason: w.disabledReason,
  lastSuccessAt: iso(w.lastSuccessAt) || null,
  lastError: w.lastError,
});

function print(list: readonly Webhook[], output: ClientOptions["output"]) {
  if (output === "id") printLines(list.map((w) => w.id));
  else if (output === "json") for (const w of list) printJson(json(w));
  else printLines(formatTable(COLUMNS, list.map(cells)));
}

/** `rsvp webhook put|get|list|delete`: signed HTTP POSTs of reservation changes (admin). */
export function registerWebhook(program: Command): void {
  const webhook = program
    .command("webhook")
    .description("webhooks: every matching reservation change POSTed, signed, in order (admin)");

  clientCommand(webhook, "put")
    .description("create a webhook, or replace one (which enables it again)")
    .argument("<id>", "webhook id, 1-64 characters")
    .argument("<url>", "http or https URL the changes are POSTed to")
    .option("--resource <id>", "only this resource's changes", "")
    .option("--user <id>", "only this user's changes", "")
    .option("--pool <pool>", "only changes of this pool's resources", "")
    .option(
      "--secret <whsec>",
      "signing secret (whsec_ + base64); a new webhook gets a generated one, shown once",
      "",
    )
    .action(async (id: string, url: string, opts: PutOptions) => {
      const put = await withServiceClient(WebhookService, opts, (client, call) =>
        client.putWebhook(
          {
            webhook: {
              id,
              url,
              resourceId: opts.resource,
              userId: opts.user,
              pool: opts.pool,
              secret: opts.secret,
            },
          },
          call,
        ),
      );
      print([put], opts.output);
      if (put.secret && opts.output === "table") {
        process.stderr.write(`secret (shown only now): ${put.secret}\n`);
      }
    });

  clientCommand(webhook, "get")
    .description("show one webhook and how its deliveries go")
    .argument("<id>", "webhook id")
    .action(async (id: string, opts: ClientOptions) => {
      const w = await withServiceClient(WebhookService, opts, (client, call) =>
        client.getWebhook({ id }, call),
      );
      print([w], opts.output);
    });

  clientCommand(webhook, "list")
    .description("list webhooks in id order, all pages")
    .action(async (opts: ClientOptions) => {
      const all = await withServiceClient(WebhookService, opts, async (client, call) => {
        const out: Webhook[] = [];
        let pageToken = "";
        do {
          const page = await client.listWebhooks({ pageToken }, call);
          out.push(...page.webhooks);
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
        return out;
      });
      if (all.length === 0 && opts.output === "table") process.stderr.write("no webhook\n");
      else print(all, opts.output);
    });

  clientCommand(webhook, "delete")
    .description("delete a webhook; its undelivered changes are dropped")
    .argument("<id>", "webhook id")
    .action(async (id: string, opts: ClientOptions) => {
      await withServiceClient(WebhookService, opts, (client, call) =>
        client.deleteWebhook({ id }, call),
      );
      process.stderr.write(`deleted webhook ${id}\n`);
    });
}
