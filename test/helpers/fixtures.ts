import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import type { status } from "@grpc/grpc-js";
import { RpcError } from "../../src/client/grpc-client.js";

/** A Timestamp from an ISO string (millisecond precision; add nanos separately). */
export function ts(iso: string, nanos?: number): Timestamp {
  const ms = Date.parse(iso);
  assert.ok(!Number.isNaN(ms), `bad test time ${iso}`);
  return create(TimestampSchema, {
    seconds: BigInt(Math.floor(ms / 1000)),
    nanos: nanos ?? (ms % 1000) * 1_000_000,
  });
}

/** Hour `h` (may be fractional) of 2030-01-01 UTC, as a Timestamp. */
export function hour(h: number): Timestamp {
  return ts(new Date(Date.UTC(2030, 0, 1) + h * 3_600_000).toISOString());
}

/** Asserts that `promise` rejects with an RpcError of `code`, and returns that error. */
export async function rejectsWith(promise: Promise<unknown>, code: status): Promise<RpcError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
    assert.equal(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected the call to fail with code ${code}`);
}

/** Collects a whole server stream. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}
