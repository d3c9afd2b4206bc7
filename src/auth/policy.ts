import { permissionDenied } from "../domain/errors.js";
import type { InitialStatus } from "../domain/reservation.js";
import type { Principal } from "./caller.js";

// Who may do what. An undefined caller means authentication is off: unrestricted. A `user`
// acts on its own reservations only; `admin` and `service` act on anyone's; only `admin`
// blocks windows. Denials name no one else.

const privileged = (caller: Principal) => caller.role !== "user";

/** Whether the caller may act on every reservation (so ownership need not be looked up). */
export function actsOnAnyone(caller: Principal | undefined): boolean {
  return !caller || privileged(caller);
}

/** The owner a new reservation gets: `user_id` as asked, empty meaning the caller itself. */
export function ownerOfNew(caller: Principal | undefined, userId: string): string {
  if (!caller) return userId;
  if (userId === "") return caller.sub;
  if (userId !== caller.sub && !privileged(caller)) {
    throw permissionDenied(
      "a user may reserve only for itself: leave user_id empty or use your own",
    );
  }
  return userId;
}

/** Whether the caller may create a reservation with `status`. */
export function assertMayCreate(caller: Principal | undefined, status: InitialStatus): void {
  if (caller && status === "blocked" && caller.role !== "admin") {
    throw permissionDenied("only an admin may block a window");
  }
}

/** Whether the caller may see or change a reservation `owner` holds. */
export function assertMayActOn(caller: Principal | undefined, id: string, owner: string): void {
  if (caller && owner !== caller.sub && !privileged(caller)) {
    throw permissionDenied(`reservation ${id} is not yours`);
  }
}

/**
 * The user filter of a listing (`query`, `filter`, `listen`): a user's is forced to itself;
 * asking for someone else's is denied rather than silently answered with nothing.
 */
export function scopedUserFilter(
  caller: Principal | undefined,
  userId: string | undefined,
): string | undefined {
  if (!caller || privileged(caller)) return userId;
  if (userId !== undefined && userId !== caller.sub) {
    throw permissionDenied("a user may list only its own reservations: leave user_id empty");
  }
  return caller.sub;
}

/** Whether the caller may change the resource catalog: admins only (everyone when auth is off). */
export function assertMayManageResources(caller: Principal | undefined): void {
  if (caller && caller.role !== "admin") {
    throw permissionDenied("only an admin may register, change or delete resources");
  }
}
