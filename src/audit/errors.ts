/**
 * Error codes of the audit log (STYLE.md §5). Stable: never renamed, never reused.
 */
import { defineError } from '../core/errors.ts';

/**
 * Verification found a record that does not follow from the one before it (changed, removed,
 * inserted or reordered), or the chain head does not match the last record. 500: the server's own
 * data is wrong and no change by the caller fixes it; monitors alert on it.
 */
export const AuditChainBroken = defineError('audit_chain_broken', 500, 'Audit log hash chain is broken');
