/**
 * The hash chain (Q50): each record's `hash` covers its own fields and the previous record's hash,
 * so changing, removing, inserting or reordering any stored record breaks every link after it —
 * the construction of RFC 6962's and Crosby & Wallach's tamper-evident logs (https://www.rfc-editor.org/rfc/rfc6962#section-2.1,
 * "Efficient Data Structures for Tamper-Evident Logging", USENIX Security 2009), as a plain chain
 * rather than a Merkle tree because verification always walks the whole log.
 *
 * The serialization is a JSON array of the fields in a fixed order, led by a version tag for domain
 * separation (RFC 6962 prefixes leaves with 0x00 for the same reason). JSON.stringify of strings,
 * integers and null is fully specified by ECMA-262 (the string form RFC 8785 also uses), so the same
 * row always serializes to the same bytes. `before`/`after` are hashed as the JSON text that is
 * stored, never re-serialized, so verification does not depend on key order or number formatting.
 */
import { createHash } from 'node:crypto';
import { JunctionError } from '../core/errors.ts';
import type { AuditRecord, ChainLinker } from '../store/index.ts';
import { AuditChainBroken } from './errors.ts';

/** `prev_hash` of the first record (and the head of an empty log). */
export const GENESIS_HASH = '0'.repeat(64);
/** Bump only with a new serialization; verification would then need to know both. */
const VERSION = 'junction.audit.v1';

/** The exact bytes (as UTF-8) that `hash` is computed over. */
export function canonicalRecord(r: Omit<AuditRecord, 'hash'>): string {
  return JSON.stringify([
    VERSION,
    r.seq,
    r.id,
    r.at,
    r.actorKind,
    r.actorId,
    r.action,
    r.outcome,
    r.resource,
    r.requestId,
    r.clientIp,
    r.reason,
    r.before,
    r.after,
    r.prevHash,
  ]);
}

/** Hex SHA-256 of the canonical serialization. */
export function hashRecord(r: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalRecord(r), 'utf8').digest('hex');
}

/**
 * Gives records their place after `head`: seq, prev_hash, hash. Called by
 * `AuditLogRepository.append` while it holds the chain lock.
 * @example
 * await store.auditLog.append(records, linkRecords);
 */
export const linkRecords: ChainLinker = (head, records) => {
  if (head === undefined) {
    throw new JunctionError(
      AuditChainBroken,
      'the audit_chain_head row is missing; refusing to start a new chain',
    );
  }
  let prev = head;
  return records.map((r) => {
    const unhashed = { ...r, seq: prev.seq + 1, prevHash: prev.hash };
    const linked: AuditRecord = { ...unhashed, hash: hashRecord(unhashed) };
    prev = linked;
    return linked;
  });
};
