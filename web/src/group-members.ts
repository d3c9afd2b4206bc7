import type { Rsvp } from "./api.js";
import { type Booking, toBooking } from "./booking.js";

/**
 * The live reservations of each group (series) the details panel has shown, from `query` by
 * `group_id`, loaded once per showing. `changed` is called when a group's members arrive.
 */
export class GroupMembers {
  private readonly loaded = new Map<string, readonly Booking[]>();
  private readonly pending = new Set<string>();

  constructor(
    private readonly client: Rsvp,
    private readonly changed: () => void,
  ) {}

  /** The group's live members, by start; undefined until loaded (which this starts). */
  get(groupId: string): readonly Booking[] | undefined {
    const members = this.loaded.get(groupId);
    if (!members && !this.pending.has(groupId)) void this.load(groupId);
    return members;
  }

  /** Loads a group's members afresh. */
  async load(groupId: string): Promise<readonly Booking[]> {
    this.pending.add(groupId);
    const out: Booking[] = [];
    try {
      for await (const r of this.client.query({ groupId })) out.push(toBooking(r));
    } catch {
      return this.loaded.get(groupId) ?? []; // the count is a hint; the booking is shown anyway
    } finally {
      this.pending.delete(groupId);
    }
    this.loaded.set(groupId, out);
    this.changed();
    return out;
  }

  /** Forgets a group, so the next `get` loads it again (after one of its members changed). */
  forget(groupId: string): void {
    if (!this.pending.has(groupId)) this.loaded.delete(groupId);
  }
}

/**
 * What the details panel says of a group: "Part of a series of 4" when its members share one
 * resource (a recurring series), else "Part of a group of 3 on 3 resources" (booked together).
 */
export function describeGroup(members: readonly Booking[]): [term: string, text: string] {
  const resources = new Set(members.map((m) => m.resourceId)).size;
  return resources <= 1
    ? ["Series", `Part of a series of ${members.length}`]
    : ["Group", `Part of a group of ${members.length} on ${resources} resources`];
}
