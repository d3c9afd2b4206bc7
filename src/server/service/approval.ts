import type { Principal } from "../../auth/caller.js";
import { assertMayActOn } from "../../auth/policy.js";
import type { Queryable } from "../../db/engine/db.js";
import { approvalOf, needingApproval } from "../../db/store/approval.js";
import { notFound, permissionDenied, quote } from "../../domain/errors.js";
import type { InitialStatus } from "../../domain/reservation.js";

interface Asked {
  readonly status: InitialStatus;
  readonly resourceId: string;
  readonly pool?: string | undefined;
}

/**
 * Reservations as a resource that needs approval stores them: asked for by a caller without
 * the admin role (authentication on), they are pending whatever status they asked for. A pool
 * item is pending when any resource of its pool needs approval (the one it lands on is picked
 * later, in the database).
 */
export async function underApproval<T extends Asked>(
  db: Queryable,
  caller: Principal | undefined,
  items: readonly T[],
): Promise<T[]> {
  if (!caller || caller.role === "admin" || items.every((i) => i.status === "pending")) {
    return [...items];
  }
  const need = await needingApproval(
    db,
    items.filter((i) => i.pool === undefined).map((i) => i.resourceId),
    items.flatMap((i) => (i.pool === undefined ? [] : [i.pool])),
  );
  return items.map((i) =>
    need.has(i.pool ?? i.resourceId) ? { ...i, status: "pending" as const } : i,
  );
}

/**
 * Whether the caller may confirm (or check in) reservation `id`: its owner or a privileged
 * caller; on a resource that needs approval, only an admin confirms.
 */
export async function assertMayConfirm(
  db: Queryable,
  caller: Principal | undefined,
  id: string,
): Promise<void> {
  if (!caller || caller.role === "admin") return;
  const found = await approvalOf(db, id);
  if (!found) throw notFound(`reservation ${id} not found`);
  if (found.approval) {
    throw permissionDenied(
      `resource ${quote(found.resourceId)} needs approval: only an admin may confirm reservation ${id}`,
    );
  }
  assertMayActOn(caller, id, found.userId);
}
