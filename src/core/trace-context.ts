/**
 * W3C Trace Context (Q26): parsing and formatting `traceparent`, and fresh ids. Hand-written because
 * it is a dozen lines on the hot path and OpenTelemetry's propagator needs a context object per call;
 * the rules are those of https://www.w3.org/TR/trace-context/#traceparent-header.
 */
import { randomFillSync } from 'node:crypto';

export interface ParsedTraceparent {
  traceId: string;
  parentId: string;
  flags: number;
}

const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Returns undefined for anything invalid, in which case the caller starts a fresh trace (§3.2.2.1). */
export function parseTraceparent(value: string | undefined): ParsedTraceparent | undefined {
  if (value === undefined || value.length < 55) return undefined;
  const version = value.slice(0, 2);
  if (!HEX.test(version) || version === 'ff') return undefined;
  // Version 00 is exactly 55 characters; later versions may append fields after a dash (§3.2.4).
  if (version === '00' ? value.length !== 55 : value.length > 55 && value[55] !== '-') return undefined;
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (!HEX.test(traceId) || !HEX.test(parentId) || !HEX.test(flags)) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, flags: Number.parseInt(flags, 16) };
}

/**
 * Version 00 with the given flags byte. Flags a hop does not understand are passed on as they came
 * (Level 2's random-trace-id bit, 0x02, included); only the sampled bit is ours to decide.
 */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}

// Random bytes drawn in blocks: one syscall per 256 ids instead of one per id.
const POOL = Buffer.alloc(4096);
let offset = POOL.length;

function randomHex(bytes: number): string {
  if (offset + bytes > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const hex = POOL.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

export function newTraceId(): string {
  const id = randomHex(16);
  return id === ZERO_TRACE ? newTraceId() : id;
}

export function newSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
}
