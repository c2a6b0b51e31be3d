/**
 * The audit log (Q50): the store-backed sink behind `services.audit`, its hash chain and the
 * verifier. See docs/operations.md, "Audit log".
 */
export { canonicalRecord, GENESIS_HASH, hashRecord, linkRecords } from './chain.ts';
export { AuditChainBroken } from './errors.ts';
export { configReloadEntry, lifecycleEntry, type RevisionRef } from './events.ts';
export { type AuditMetrics, auditMetrics } from './metrics.ts';
export { AUDIT_LIMITS, normalizeEntry } from './normalize.ts';
export {
  type AuditSinkSettings,
  DEFAULT_AUDIT_SETTINGS,
  StoreAuditSink,
  type StoreAuditSinkOptions,
} from './sink.ts';
export {
  type ChainFailure,
  type ChainMismatch,
  type VerifyOptions,
  type VerifyResult,
  verifyChain,
} from './verify.ts';
