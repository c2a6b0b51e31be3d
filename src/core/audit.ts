/**
 * The audit log's front door (Q50): every part of the gateway records security-relevant actions
 * through `services.audit`, never by writing a table itself. The store-backed sink (hash-chained,
 * append-only) is one implementation; tests and `junction validate` use the no-op one.
 */
export interface AuditEntry {
  /** Dotted verb, e.g. `auth.deny`, `auth.login`, `admin.key.create`, `config.reload`. */
  action: string;
  outcome: 'allow' | 'deny' | 'success' | 'failure';
  /** Who acted: a principal id, an admin token name, `system`. */
  actor?: { kind: string; id: string };
  /** What it acted on: a route, a key id, a path. */
  resource?: string;
  requestId?: string;
  clientIp?: string;
  /** Why, for denials and failures: a stable code, never a secret. */
  reason?: string;
  /** For changes: the state before and after (secrets already removed by the caller). */
  before?: unknown;
  after?: unknown;
}

export interface AuditSink {
  /** Fire and forget: never throws, never delays the request; failures are logged by the sink. */
  record(entry: AuditEntry): void;
  /** Resolves when everything recorded so far is stored (tests, shutdown). */
  flush(): Promise<void>;
}

export const noAudit: AuditSink = { record() {}, flush: async () => {} };
