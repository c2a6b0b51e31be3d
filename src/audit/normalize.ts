/**
 * An `AuditEntry` as handed to `record()` → the row that will be stored. Done when the entry is
 * recorded, not when it is written: `before`/`after` are snapshots, and a caller mutating its object
 * afterwards must not change history.
 *
 * Every text value is made storable on both dialects exactly as hashed: lone UTF-16 surrogates would
 * be replaced on the way into PostgreSQL and NUL is refused by its text type, either of which would
 * make a faithful row fail verification. Lengths are bounded so that one caller cannot bloat the
 * log (OWASP Logging Cheat Sheet: "Event data" sanitization and size limits,
 * https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html).
 */
import type { AuditEntry } from '../core/audit.ts';
import { AUDIT_OUTCOMES, type UnchainedAuditRecord } from '../store/index.ts';

/** Characters per field; `before`/`after` are bounded in JSON characters. */
export const AUDIT_LIMITS = {
  action: 128,
  actor: 256,
  resource: 1024,
  requestId: 128,
  clientIp: 64,
  reason: 1024,
  json: 65_536,
} as const;

/** The stored row, or why the entry cannot be stored (the sink logs and counts it as dropped). */
export function normalizeEntry(
  entry: AuditEntry,
  id: string,
  at: number,
): { record: UnchainedAuditRecord } | { invalid: string } {
  if (typeof entry !== 'object' || entry === null) return { invalid: 'entry is not an object' };
  const action = text(entry.action, AUDIT_LIMITS.action);
  if (action === null || action === '') return { invalid: 'action must be a non-empty string' };
  if (!(AUDIT_OUTCOMES as readonly unknown[]).includes(entry.outcome)) {
    return { invalid: `outcome must be one of ${AUDIT_OUTCOMES.join(', ')}` };
  }
  return {
    record: {
      id,
      at,
      actorKind: text(entry.actor?.kind, AUDIT_LIMITS.actor),
      actorId: text(entry.actor?.id, AUDIT_LIMITS.actor),
      action,
      outcome: entry.outcome,
      resource: text(entry.resource, AUDIT_LIMITS.resource),
      requestId: text(entry.requestId, AUDIT_LIMITS.requestId),
      clientIp: text(entry.clientIp, AUDIT_LIMITS.clientIp),
      reason: text(entry.reason, AUDIT_LIMITS.reason),
      before: json(entry.before),
      after: json(entry.after),
    },
  };
}

function text(value: unknown, max: number): string | null {
  if (value === undefined || value === null) return null;
  const s = typeof value === 'string' ? value : String(value);
  // Cut first, then repair: a cut through a surrogate pair leaves a lone half for toWellFormed.
  return s.slice(0, max).toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/**
 * JSON text with object keys sorted (one state, one text), or null for undefined. JSON.stringify
 * escapes lone surrogates and control characters, so its output is always storable.
 */
function json(value: unknown): string | null {
  if (value === undefined) return null;
  let out: string | undefined;
  try {
    out = JSON.stringify(value, sortKeys);
  } catch (err) {
    // BigInt, cycles: keep the fact that there was a value, not the failure.
    return JSON.stringify({ $unserializable: err instanceof Error ? err.message : String(err) });
  }
  if (out === undefined) return null;
  if (out.length > AUDIT_LIMITS.json) return JSON.stringify({ $truncated: true, length: out.length });
  return out;
}

function sortKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const obj = value as Record<string, unknown>;
  // No prototype: a `__proto__` key stays a key instead of replacing the prototype.
  const sorted: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(obj).sort()) sorted[k] = obj[k];
  return sorted;
}
