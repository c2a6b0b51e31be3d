/**
 * Audit entries the gateway itself records: its start and stop, and every config reload applied or
 * rejected (OWASP Logging Cheat Sheet, "Which events to log": application start-ups and shut-downs,
 * configuration changes; https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html).
 */
import type { AuditEntry } from '../core/audit.ts';
import { isJunctionError } from '../core/errors.ts';

export interface RevisionRef {
  id: string;
  hash: string;
}

/**
 * A reload, by `by` as the gateway names it: `file` (the watcher), `admin:<caller>` (the admin API).
 * @example
 * services.audit.record(configReloadEntry('file', 'junction.yaml', previous, { id: rev.id, hash }));
 */
export function configReloadEntry(
  by: string,
  configFile: string,
  before: RevisionRef,
  after: RevisionRef,
  error?: unknown,
): AuditEntry {
  const failed = error !== undefined;
  return {
    action: 'config.reload',
    outcome: failed ? 'failure' : 'success',
    actor: by.startsWith('admin:')
      ? { kind: 'admin', id: by.slice('admin:'.length) }
      : { kind: 'system', id: by },
    resource: configFile,
    // A stable code, never the message: it may quote the file's contents.
    ...(failed ? { reason: isJunctionError(error) ? error.code : 'internal_error' } : {}),
    before: { revision: before.id, hash: before.hash },
    after: { revision: after.id, hash: after.hash, status: failed ? 'rejected' : 'applied' },
  };
}

/** The gateway process starting or stopping; `details` must hold no secrets. */
export function lifecycleEntry(
  action: 'gateway.start' | 'gateway.stop',
  nodeId: number,
  details: Record<string, unknown>,
): AuditEntry {
  return { action, outcome: 'success', actor: { kind: 'system', id: `node:${nodeId}` }, after: details };
}
