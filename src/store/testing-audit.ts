/**
 * Test support for the audit log repository. The store does not know how records are hashed
 * (src/audit/chain.ts does), so these helpers link with a stand-in hash: enough for appends, lists
 * and plans. Not exported from index.ts.
 */
import { createHash } from 'node:crypto';
import { JUNCTION_EPOCH, Snowflake } from '../core/ids.ts';
import type { AuditOutcome, AuditRecord, ChainLinker, UnchainedAuditRecord } from './audit-log.ts';
import type { Store } from './open.ts';

/** Links like the real chain (seq + 1, prev hash), with sha256(id + prev) as the hash. */
export const plainLinker: ChainLinker = (head, records) => {
  if (head === undefined) throw new Error('no chain head');
  let prev = head;
  return records.map((r) => {
    const linked: AuditRecord = {
      ...r,
      seq: prev.seq + 1,
      prevHash: prev.hash,
      hash: createHash('sha256').update(`${r.id}${prev.hash}`).digest('hex'),
    };
    prev = linked;
    return linked;
  });
};

export const SEED_ACTIONS = ['auth.deny', 'admin.key.create', 'config.reload'] as const;
export const SEED_OUTCOMES: readonly AuditOutcome[] = ['deny', 'success', 'failure'];

/**
 * `count` unchained records one second apart from `start`: record i has action
 * `SEED_ACTIONS[i % 3]`, actor `u${i % 4}` and outcome `SEED_OUTCOMES[floor(i / 2) % 3]`, so every
 * filter combination has matches.
 */
export function auditRecords(count: number, start = JUNCTION_EPOCH + 86_400_000, nodeId = 7) {
  let now = start;
  const ids = new Snowflake({ nodeId, now: () => now });
  const out: UnchainedAuditRecord[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      id: ids.next('aud'),
      at: now,
      actorKind: 'api-key',
      actorId: `u${i % 4}`,
      action: SEED_ACTIONS[i % 3]!,
      outcome: SEED_OUTCOMES[Math.floor(i / 2) % 3]!,
      resource: `/r/${i}`,
      requestId: `req_${i}`,
      clientIp: '192.0.2.1',
      reason: null,
      before: null,
      after: JSON.stringify({ i }),
    });
    now += 1000;
  }
  return out;
}

/** Appends `auditRecords(count)` in batches of `batch`; returns them as stored, oldest first. */
export async function seedAuditLog(store: Store, count: number, batch = 10): Promise<AuditRecord[]> {
  const records = auditRecords(count);
  const stored: AuditRecord[] = [];
  for (let i = 0; i < records.length; i += batch) {
    stored.push(...(await store.auditLog.append(records.slice(i, i + batch), plainLinker)));
  }
  return stored;
}
