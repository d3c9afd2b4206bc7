import type { Position } from "../../domain/change.js";
import type { Webhook, WebhookSpec } from "../../domain/webhook.js";
import type { Queryable } from "../engine/db.js";

type Int = bigint | number | string;

interface WebhookRow {
  [column: string]: unknown;
  id: string;
  url: string;
  resource_id: string | null;
  user_id: string | null;
  pool: string | null;
  secret: string;
  created_us: Int;
  disabled: boolean;
  disabled_reason: string;
  last_success_us: Int | null;
  last_error: string;
}

/** A webhook held by a delivery worker: where it stands and since when it fails. */
export interface LeasedWebhook extends Webhook {
  readonly position: Position;
  readonly attempts: number;
  /** When the delivery being retried first failed (µs), if one is. */
  readonly failingSince: bigint | undefined;
}

type LeasedRow = WebhookRow & {
  pos_xid: string;
  pos_seq: Int;
  attempts: number;
  failing_us: Int | null;
};

const COLUMNS = `w.id, w.url, w.resource_id, w.user_id, w.pool, w.secret,
  rsvp.to_micros(w.created_at) AS created_us, w.disabled, w.disabled_reason,
  rsvp.to_micros(w.last_success_at) AS last_success_us, w.last_error`;
const LEASED_COLUMNS = `${COLUMNS}, w.pos_xid::text AS pos_xid, w.pos_seq, w.attempts,
  rsvp.to_micros(w.failing_since) AS failing_us`;

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    url: row.url,
    resourceId: row.resource_id ?? undefined,
    userId: row.user_id ?? undefined,
    pool: row.pool ?? undefined,
    secret: row.secret,
    createdAt: BigInt(row.created_us),
    disabled: row.disabled,
    disabledReason: row.disabled_reason,
    lastSuccessAt: row.last_success_us === null ? undefined : BigInt(row.last_success_us),
    lastError: row.last_error,
  };
}

function toLeased(row: LeasedRow): LeasedWebhook {
  return {
    ...toWebhook(row),
    position: { xid: BigInt(row.pos_xid), seq: BigInt(row.pos_seq) },
    attempts: Number(row.attempts),
    failingSince: row.failing_us === null ? undefined : BigInt(row.failing_us),
  };
}

/**
 * Creates or replaces a webhook. A new one starts at `start` (changes after it are delivered),
 * with `newSecret`; a replaced one keeps its position, and its secret unless the spec has one,
 * and is enabled again with its failures forgotten. Returns it and whether it was created.
 */
export async function putWebhook(
  db: Queryable,
  spec: WebhookSpec,
  newSecret: string,
  start: Position,
): Promise<{ webhook: Webhook; created: boolean }> {
  const [row] = await db.query<WebhookRow & { created: boolean }>(
    `INSERT INTO rsvp.webhooks AS w (id, url, resource_id, user_id, pool, secret, pos_xid, pos_seq)
     VALUES ($1, $2, $3, $4, $5, coalesce($6, $7), $8::text::xid8, $9::bigint)
     ON CONFLICT (id) DO UPDATE
        SET url = EXCLUDED.url, resource_id = EXCLUDED.resource_id,
            user_id = EXCLUDED.user_id, pool = EXCLUDED.pool,
            secret = coalesce($6, w.secret), updated_at = now(),
            disabled = false, disabled_reason = '', last_error = '',
            failing_since = NULL, attempts = 0
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [
      spec.id,
      spec.url,
      spec.resourceId ?? null,
      spec.userId ?? null,
      spec.pool ?? null,
      spec.secret ?? null,
      newSecret,
      start.xid.toString(),
      start.seq.toString(),
    ],
  );
  if (!row) throw new Error("putting a webhook returned no row");
  return { webhook: toWebhook(row), created: row.created };
}

export async function getWebhook(db: Queryable, id: string): Promise<Webhook | undefined> {
  const [row] = await db.query<WebhookRow>(
    `SELECT ${COLUMNS} FROM rsvp.webhooks AS w WHERE w.id = $1`,
    [id],
  );
  return row && toWebhook(row);
}

/** Up to `limit` webhooks after id `after`, in id order. */
export async function listWebhooks(
  db: Queryable,
  after: string,
  limit: number,
): Promise<Webhook[]> {
  const rows = await db.query<WebhookRow>(
    `SELECT ${COLUMNS} FROM rsvp.webhooks AS w WHERE w.id > $1 ORDER BY w.id LIMIT $2`,
    [after, limit],
  );
  return rows.map(toWebhook);
}

/** Whether a webhook was there to delete. */
export async function deleteWebhook(db: Queryable, id: string): Promise<boolean> {
  const rows = await db.query("DELETE FROM rsvp.webhooks WHERE id = $1 RETURNING id", [id]);
  return rows.length > 0;
}

/**
 * Takes (or renews) the lease of every enabled webhook that no other live process holds, for
 * `leaseSeconds`; returns the webhooks `owner` now holds.
 */
export async function claimWebhooks(
  db: Queryable,
  owner: string,
  leaseSeconds: number,
): Promise<LeasedWebhook[]> {
  const rows = await db.query<LeasedRow>(
    `UPDATE rsvp.webhooks AS w
        SET lease_owner = $1, lease_until = now() + make_interval(secs => $2)
      WHERE NOT w.disabled
        AND (w.lease_owner = $1 OR w.lease_owner IS NULL OR w.lease_until < now())
      RETURNING ${LEASED_COLUMNS}`,
    [owner, leaseSeconds],
  );
  return rows.map(toLeased);
}

/** The webhook as `owner` holds it, or undefined when its lease is gone (or it is). */
export async function heldWebhook(
  db: Queryable,
  id: string,
  owner: string,
): Promise<LeasedWebhook | undefined> {
  const [row] = await db.query<LeasedRow>(
    `SELECT ${LEASED_COLUMNS} FROM rsvp.webhooks AS w
      WHERE w.id = $1 AND w.lease_owner = $2 AND w.lease_until > now() AND NOT w.disabled`,
    [id, owner],
  );
  return row && toLeased(row);
}

/** Gives up every lease `owner` holds (a clean shutdown: another process takes over at once). */
export async function releaseWebhooks(db: Queryable, owner: string): Promise<void> {
  await db.query(
    "UPDATE rsvp.webhooks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
    [owner],
  );
}

/**
 * Moves a held webhook's position forward; with `delivered`, a delivery succeeded there and its
 * failures are forgotten. False when the lease is no longer `owner`'s: it must stop.
 */
export async function advanceWebhook(
  db: Queryable,
  id: string,
  owner: string,
  to: Position,
  delivered: boolean,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE rsvp.webhooks AS w
        SET pos_xid = $3::text::xid8, pos_seq = $4::bigint,
            last_success_at = CASE WHEN $5::boolean THEN now() ELSE w.last_success_at END,
            last_error = CASE WHEN $5::boolean THEN '' ELSE w.last_error END,
            failing_since = NULL, attempts = 0
      WHERE w.id = $1 AND w.lease_owner = $2
        AND (w.pos_xid, w.pos_seq) <= ($3::text::xid8, $4::bigint)
      RETURNING w.id`,
    [id, owner, to.xid.toString(), to.seq.toString(), delivered],
  );
  return rows.length > 0;
}

/**
 * Records a failed attempt: the error, one more attempt, and, with
 * `disable`, the webhook switched off with that reason. False when the lease is gone.
 */
export async function recordFailure(
  db: Queryable,
  id: string,
  owner: string,
  failure: { error: string; disable: string | undefined },
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE rsvp.webhooks AS w
        SET last_error = $3, attempts = w.attempts + 1,
            failing_since = coalesce(w.failing_since, now()),
            disabled = $4::text IS NOT NULL, disabled_reason = coalesce($4::text, ''),
            lease_owner = CASE WHEN $4::text IS NULL THEN w.lease_owner END,
            lease_until = CASE WHEN $4::text IS NULL THEN w.lease_until END
      WHERE w.id = $1 AND w.lease_owner = $2
      RETURNING w.id`,
    [id, owner, failure.error, failure.disable ?? null],
  );
  return rows.length > 0;
}

/** The pools of these resources (a resource in no pool is absent). */
export async function poolsOf(
  db: Queryable,
  resourceIds: readonly string[],
): Promise<Map<string, string>> {
  if (resourceIds.length === 0) return new Map();
  const rows = await db.query<{ id: string; pool: string }>(
    `SELECT r.id, r.pool FROM rsvp.resources AS r
      WHERE r.id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND r.pool <> ''`,
    [JSON.stringify([...new Set(resourceIds)])],
  );
  return new Map(rows.map((r) => [r.id, r.pool]));
}
