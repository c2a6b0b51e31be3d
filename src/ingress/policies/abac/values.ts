/**
 * JSON → Cedar values (Cedar's JSON entity format). Cedar has no null and no floats, and reads
 * `{ "__entity": … }` / `{ "__extn": … }` as entity references and extension calls: claims and
 * attributes from a token must never become those, so such keys are dropped, along with nulls and
 * non-integers. What is dropped is simply absent; policies test with `has`.
 */
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';

const MAX_DEPTH = 8;
const RESERVED = new Set(['__entity', '__extn', '__expr']);

export function toCedar(value: unknown, depth = 0): CedarValueJson | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // Cedar's Long is a signed 64-bit integer; JSON numbers beyond 2^53 are not exact anyway.
      return Number.isSafeInteger(value) ? value : undefined;
    case 'object': {
      if (value === null || depth >= MAX_DEPTH) return undefined;
      if (Array.isArray(value)) {
        const out: CedarValueJson[] = [];
        for (const v of value) {
          const c = toCedar(v, depth + 1);
          if (c !== undefined) out.push(c);
        }
        return out;
      }
      return toCedarRecord(value as Record<string, unknown>, depth + 1);
    }
    default:
      return undefined;
  }
}

export function toCedarRecord(value: Record<string, unknown>, depth = 0): Record<string, CedarValueJson> {
  const out: Record<string, CedarValueJson> = {};
  for (const [k, v] of Object.entries(value)) {
    if (RESERVED.has(k)) continue;
    const c = toCedar(v, depth);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/** A reference to an entity, as attribute or context value. */
export const entityRef = (type: string, id: string): CedarValueJson => ({ __entity: { type, id } });

/**
 * Cedar's `ip` extension value, or undefined. Cedar refuses IPv4-mapped IPv6 (`::ffff:1.2.3.4`,
 * which is how Node reports IPv4 peers on a dual-stack socket), so those become plain IPv4.
 */
export function ipValue(ip: string): CedarValueJson | undefined {
  const plain = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  return plain === '' ? undefined : { __extn: { fn: 'ip', arg: plain } };
}
