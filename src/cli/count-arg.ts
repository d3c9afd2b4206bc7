import { InvalidArgumentError } from "commander";

/** A whole number of units for commander (--capacity, --quantity): 0 or more. */
export function countArg(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError("expected a whole number >= 0");
  return Number(value.trim());
}
