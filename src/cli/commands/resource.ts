import type { Command } from "commander";
import type { Micros } from "../../domain/reservation.js";
import { type Resource, ResourceService } from "../../gen/reservation/resource_pb.js";
import { microsToDuration } from "../../protocol/convert.js";
import {
  type ClientOptions,
  clientCommand,
  durationArg,
  withServiceClient,
} from "../client-command.js";
import { countArg } from "../count-arg.js";
import { printResources } from "../resource-output.js";
import { addQuotaOptions, type QuotaOptions, quotaFrom } from "../resource-quota.js";

interface PutOptions extends ClientOptions, QuotaOptions {
  readonly pool: string;
  readonly timeZone: string;
  readonly note: string;
  readonly bufferBefore?: Micros;
  readonly bufferAfter?: Micros;
  readonly minDuration?: Micros;
  readonly maxDuration?: Micros;
  readonly minNotice?: Micros;
  readonly maxAdvance?: Micros;
  readonly capacity: number;
  readonly releaseAfter?: Micros;
  readonly checkInOpens?: Micros;
  readonly approval?: boolean;
}

const toDuration = (us: Micros | undefined) =>
  us === undefined ? undefined : microsToDuration(us);

const DURATION = "(30m, 1h30m, 2d)";

/** `rsvp resource put|get|list|delete`: the resource catalog (pools, buffers, rules). */
export function registerResource(program: Command): void {
  const resource = program
    .command("resource")
    .description("the resource catalog: pools, buffers and booking rules");

  const put = clientCommand(resource, "put")
    .description("register a resource, or replace it as a whole (admin)")
    .argument("<id>", "resource id (the reservations' resource)")
    .option("--pool <pool>", "pool of interchangeable resources it belongs to", "")
    .option("--time-zone <zone>", "IANA time zone for series and rules", "UTC")
    .option(
      "--buffer-before <duration>",
      `kept free before every reservation ${DURATION}`,
      durationArg,
    )
    .option(
      "--buffer-after <duration>",
      `kept free after every reservation ${DURATION}`,
      durationArg,
    )
    .option("--min-duration <duration>", "shortest reservation accepted", durationArg)
    .option("--max-duration <duration>", "longest reservation accepted", durationArg)
    .option("--min-notice <duration>", "a reservation starts at least this far ahead", durationArg)
    .option("--max-advance <duration>", "a reservation starts at most this far ahead", durationArg)
    .option(
      "--capacity <units>",
      "units usable at once: seats, spaces, rooms of a type (0 or 1: exclusive)",
      countArg,
      0,
    )
    .option(
      "--release-after <duration>",
      "release a reservation not checked in this long after its start (no-show)",
      durationArg,
    )
    .option(
      "--check-in-opens <duration>",
      "check-in opens this long before the start (default 15m)",
      durationArg,
    )
    .option("--approval", "reservations by non-admins are pending until an admin confirms them")
    .option("-n, --note <text>", "a note", "");
  addQuotaOptions(put).action(async (id: string, opts: PutOptions) => {
    const quota = quotaFrom(opts);
    const stored = await withServiceClient(ResourceService, opts, (client, call) =>
      client.putResource(
        {
          resource: {
            id,
            pool: opts.pool,
            timeZone: opts.timeZone,
            bufferBefore: toDuration(opts.bufferBefore),
            bufferAfter: toDuration(opts.bufferAfter),
            rules: {
              minDuration: toDuration(opts.minDuration),
              maxDuration: toDuration(opts.maxDuration),
              minNotice: toDuration(opts.minNotice),
              maxAdvance: toDuration(opts.maxAdvance),
              releaseAfter: toDuration(opts.releaseAfter),
              checkInOpens: toDuration(opts.checkInOpens),
              quota,
            },
            note: opts.note,
            capacity: opts.capacity,
            approval: opts.approval ?? false,
          },
        },
        call,
      ),
    );
    printResources([stored], opts.output);
  });

  clientCommand(resource, "get")
    .description("show one resource")
    .argument("<id>", "resource id")
    .action(async (id: string, opts: ClientOptions) => {
      const r = await withServiceClient(ResourceService, opts, (client, call) =>
        client.getResource({ id }, call),
      );
      printResources([r], opts.output);
    });

  clientCommand(resource, "list")
    .description("list resources in id order, all pages")
    .option("--pool <pool>", "only this pool", "")
    .action(async (opts: ClientOptions & { pool: string }) => {
      const all = await withServiceClient(ResourceService, opts, async (client, call) => {
        const out: Resource[] = [];
        let pageToken = "";
        do {
          const page = await client.listResources({ pool: opts.pool, pageToken }, call);
          out.push(...page.resources);
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
        return out;
      });
      if (all.length === 0 && (opts.output === "table" || opts.output === "wide"))
        process.stderr.write("no resource\n");
      else printResources(all, opts.output);
    });

  clientCommand(resource, "delete")
    .description("unregister a resource (admin); refused while it has live reservations ahead")
    .argument("<id>", "resource id")
    .action(async (id: string, opts: ClientOptions) => {
      await withServiceClient(ResourceService, opts, (client, call) =>
        client.deleteResource({ id }, call),
      );
      process.stderr.write(`deleted resource ${id}\n`);
    });
}
