/** Shared by the verifier tests (not exported from index.ts). */
import assert from 'node:assert/strict';
import { isJunctionError } from '../../core/errors.ts';

/** A fixed "now" for every test: 2026-01-01T00:00:00Z. */
export const NOW_S = 1_767_225_600;
export const now = (): number => NOW_S * 1000;

/** Asserts `fn` throws a JunctionError with `code`, whose detail does not contain any of `secrets`. */
export function rejects(fn: () => unknown, code: string, secrets: readonly string[] = []): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isJunctionError(err), `expected a JunctionError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const s of secrets) assert.ok(!err.message.includes(s), 'the detail must not reveal a secret');
    return true;
  });
}

export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** The same bytes with one byte changed. */
export function tamper(body: Buffer, at = 0): Buffer {
  const copy = Buffer.from(body);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}
