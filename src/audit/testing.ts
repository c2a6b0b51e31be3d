/**
 * Test support for the audit log: a chained log to tamper with, and the tampering tools of someone
 * who owns the tables. Not exported from index.ts.
 */
import { sql } from 'kysely';
import type { AuditRecord, Store } from '../store/index.ts';
import { auditRecords } from '../store/testing-audit.ts';
import { hashRecord, linkRecords } from './chain.ts';

/** `count` records with real hashes, appended in batches of `batch`; oldest first. */
export async function seedChain(store: Store, count: number, batch = 10): Promise<AuditRecord[]> {
  const records = auditRecords(count);
  const stored: AuditRecord[] = [];
  for (let i = 0; i < count; i += batch) {
    stored.push(...(await store.auditLog.append(records.slice(i, i + batch), linkRecords)));
  }
  return stored;
}

/** What an attacker with the table owner's rights does first: drop the append-only triggers. */
export async function dropAppendOnlyGuards(store: Store): Promise<void> {
  if (store.dialect === 'postgres') {
    await sql`drop trigger audit_log_no_change on audit_log`.execute(store.db);
    await sql`drop trigger audit_log_no_truncate on audit_log`.execute(store.db);
  } else {
    await sql`drop trigger audit_log_no_update`.execute(store.db);
    await sql`drop trigger audit_log_no_delete`.execute(store.db);
  }
}

/** Writes a row as given, bypassing the repository (and its lock and checks). */
export async function insertRaw(store: Store, r: AuditRecord): Promise<void> {
  await store.auditLog.insertQuery([r]).execute();
}

/** The same record with its hash recomputed after a change: a forger who knows the algorithm. */
export function rehashed(r: AuditRecord, change: Partial<AuditRecord>): AuditRecord {
  const { hash: _old, ...fields } = { ...r, ...change };
  return { ...fields, hash: hashRecord(fields) };
}
