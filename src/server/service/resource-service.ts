import type { ServiceImpl } from "@connectrpc/connect";
import { callerOf } from "../../auth/caller.js";
import { assertMayManageResources } from "../../auth/policy.js";
import type { Queryable } from "../../db/engine/db.js";
import * as resources from "../../db/store/resources.js";
import { failedPrecondition, invalidArgument, notFound, quote } from "../../domain/errors.js";
import { parseName, parseOptionalName } from "../../domain/validate.js";
import type { ResourceService } from "../../gen/reservation/resource_pb.js";
import { resourceSpecFromProto, resourceToProto } from "../../protocol/resource-convert.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./page-token.js";

// A page token is the last id of the page and the pool it was listed for: ids are not secret
// (every authenticated caller may list them), so it needs no MAC, only a check of the pool.
const encodeToken = (pool: string, last: string) =>
  Buffer.from(JSON.stringify([pool, last])).toString("base64url");
function decodeToken(pool: string, token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString());
    if (Array.isArray(parsed) && parsed[0] === pool && typeof parsed[1] === "string") {
      return parsed[1];
    }
  } catch {
    // falls through to the INVALID_ARGUMENT below
  }
  throw invalidArgument("page_token is invalid, or was issued for another pool");
}

/**
 * The resource catalog service. Put and Delete are for admins; Get and List for any
 * authenticated caller (a resource's settings name no one).
 */
export function createResourceService(db: Queryable): ServiceImpl<typeof ResourceService> {
  return {
    async putResource(req, ctx) {
      assertMayManageResources(callerOf(ctx));
      const r = req.resource;
      if (!r) throw invalidArgument("resource is required");
      const spec = resourceSpecFromProto(r);
      return resourceToProto(await resources.putResource(db, spec));
    },

    async getResource(req, ctx) {
      const id = parseName("id", req.id);
      const r = await resources.getResource(db, id, ctx.signal);
      if (!r) throw notFound(`resource ${quote(id)} is not registered`);
      return resourceToProto(r);
    },

    async listResources(req, ctx) {
      const pool = parseOptionalName("pool", req.pool);
      if (req.pageSize < 0) throw invalidArgument("page_size must not be negative");
      const size = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const after = req.pageToken === "" ? "" : decodeToken(req.pool, req.pageToken);
      // One more than a page tells whether there is a next one.
      const rows = await resources.listResources(db, pool, after, size + 1, ctx.signal);
      const page = rows.slice(0, size);
      const last = page.at(-1);
      return {
        resources: page.map(resourceToProto),
        nextPageToken: rows.length > size && last ? encodeToken(req.pool, last.id) : "",
      };
    },

    async deleteResource(req, ctx) {
      assertMayManageResources(callerOf(ctx));
      const id = parseName("id", req.id);
      const outcome = await resources.deleteResource(db, id);
      if (outcome === "missing") throw notFound(`resource ${quote(id)} is not registered`);
      if (outcome === "busy") {
        throw failedPrecondition(
          `resource ${quote(id)} has live reservations that have not ended: cancel them first`,
        );
      }
      return {};
    },
  };
}
