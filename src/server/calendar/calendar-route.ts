import { createHash } from "node:crypto";
import type { Authenticator } from "../../auth/authenticator.js";
import type { Principal } from "../../auth/caller.js";
import { actsOnAnyone } from "../../auth/policy.js";
import type { Queryable } from "../../db/engine/db.js";
import { poolExists } from "../../db/store/availability.js";
import { calendarEntries, freeBusy } from "../../db/store/calendar.js";
import { Code, RsvpError } from "../../domain/errors.js";
import type { Logger } from "../logger.js";
import type { HttpRoute } from "../transport/http-route.js";
import {
  type CalendarRequest,
  feedWindow,
  freeBusyWindow,
  MAX_FEED_SPAN_DAYS,
  MAX_FREEBUSY_SPAN_DAYS,
  parseCalendarPath,
  parseRange,
} from "./calendar-request.js";
import { type FeedEvent, renderFeed, renderFreeBusy } from "./ics.js";

/** The most VEVENTs one feed carries: the earliest ones of its window. */
export const MAX_FEED_EVENTS = 5000;

type Req = Parameters<HttpRoute>[0];
type Res = Parameters<HttpRoute>[1];

/** What the calendar routes need. */
export interface CalendarDeps {
  readonly db: Queryable;
  /** Undefined: authentication is off and the calendars are open, like everything else. */
  readonly authenticator: Authenticator | undefined;
  readonly log: Logger;
  /** Microseconds since the epoch (tests move it). */
  readonly now?: () => bigint;
}

const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  // A busy or unreachable database: try again later, never an internal error.
  [Code.ResourceExhausted]: 503,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 503,
};

function send(res: Res, head: boolean, status: number, headers: Record<string, string>, body = "") {
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(status, { ...headers, "content-length": String(bytes.length) });
  if (head) res.end();
  else res.end(bytes);
}

/**
 * The caller of a calendar request: a feed token in `?token=` (calendar apps send no
 * headers), else the usual bearer header. Undefined when authentication is off.
 */
async function viewerOf(
  deps: CalendarDeps,
  req: Req,
  params: URLSearchParams,
): Promise<Principal | undefined> {
  if (!deps.authenticator) return undefined;
  const token = params.get("token");
  if (token !== null) return deps.authenticator.authenticateFeed(token);
  return deps.authenticator.authenticate(req.headers.authorization ?? null);
}

/** Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for GET). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => bare(tag) === etag);
}

async function render(
  deps: CalendarDeps,
  asked: CalendarRequest,
  params: URLSearchParams,
  viewer: Principal | undefined,
): Promise<{ body: string; fingerprint: string }> {
  const now = deps.now?.() ?? BigInt(Date.now()) * 1000n;
  if (asked.kind === "feed") {
    const range = parseRange(params, feedWindow(now), MAX_FEED_SPAN_DAYS);
    const scope = asked.scope;
    if ("userId" in scope && viewer && viewer.sub !== scope.userId && !actsOnAnyone(viewer)) {
      throw new RsvpError(Code.PermissionDenied, "a user may subscribe to its own calendar only");
    }
    if ("pool" in scope && !(await poolExists(deps.db, scope.pool))) {
      throw new RsvpError(Code.NotFound, "no such pool");
    }
    const entries = await calendarEntries(deps.db, scope, range, MAX_FEED_EVENTS);
    const events: FeedEvent[] = entries.map((e) => ({
      ...e,
      visible: actsOnAnyone(viewer) || e.reservation.userId === viewer?.sub,
    }));
    const body = renderFeed(asked.name, events);
    return { body, fingerprint: body };
  }
  const range = parseRange(params, freeBusyWindow(now), MAX_FREEBUSY_SPAN_DAYS);
  const target = asked.target;
  if ("pool" in target && !(await poolExists(deps.db, target.pool))) {
    throw new RsvpError(Code.NotFound, "no such pool");
  }
  const periods = await freeBusy(deps.db, target, range);
  const seed = JSON.stringify({ target, start: `${range.start}`, end: `${range.end}` });
  // DTSTAMP is the time of rendering; the ETag follows what the periods say, not when.
  const fingerprint = `${seed}${JSON.stringify(periods, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`;
  return { body: renderFreeBusy(asked.name, seed, range, periods, now), fingerprint };
}

/**
 * `GET /calendar/{resources,pools,users}/{id}.ics` and `/calendar/{resources,pools}/{id}/freebusy.ics`:
 * iCalendar feeds with an ETag (If-None-Match answers 304). With authentication on, a wrong or
 * missing token is 401 before anything is looked up, so it reveals nothing.
 */
export function calendarRoute(deps: CalendarDeps): HttpRoute {
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith("/calendar/")) return false;
    const head = req.method === "HEAD";
    try {
      const asked = parseCalendarPath(url.pathname);
      if (!asked) return false;
      if (req.method !== "GET" && !head) {
        send(res, false, 405, { allow: "GET, HEAD", "content-type": "text/plain" }, "GET only\n");
        return true;
      }
      const viewer = await viewerOf(deps, req, url.searchParams);
      const { body, fingerprint } = await render(deps, asked, url.searchParams, viewer);
      const etag = `"${createHash("sha256").update(fingerprint).digest("base64url").slice(0, 32)}"`;
      const headers = {
        etag,
        // A feed may be someone's own bookings: shared caches must not keep it.
        "cache-control": "private, no-cache",
        vary: "authorization",
        "x-content-type-options": "nosniff",
      };
      if (matches(req.headers["if-none-match"], etag)) send(res, true, 304, headers);
      else
        send(res, head, 200, { ...headers, "content-type": "text/calendar; charset=utf-8" }, body);
    } catch (err) {
      const status = err instanceof RsvpError ? HTTP_STATUS[err.code] : undefined;
      if (status === 401) {
        // Says nothing about the calendar asked for, nor why the token failed.
        send(
          res,
          head,
          401,
          { "www-authenticate": "Bearer", "content-type": "text/plain" },
          "unauthorized\n",
        );
      } else if (status !== undefined && err instanceof Error) {
        send(
          res,
          head,
          status,
          { "content-type": "text/plain; charset=utf-8" },
          `${err.message}\n`,
        );
      } else {
        deps.log.error({ err, path: url.pathname }, "calendar request failed");
        send(res, head, 500, { "content-type": "text/plain" }, "internal error\n");
      }
    }
    return true;
  };
}
