/**
 * The store-backed `AuditSink` (Q50). `record()` is synchronous and never throws: it gives the entry
 * its id and time, snapshots it (./normalize.ts) and queues it in memory. One writer per sink appends
 * whatever is queued, up to `batchSize` records per transaction; while a transaction runs, new
 * records gather for the next one (group commit), so a burst costs a few transactions, not one each.
 *
 * The queue is bounded (`maxQueue`). When it is full, new records are dropped rather than blocking:
 * `record()` runs on the request path and a slow or unreachable database must not become a slow or
 * unavailable gateway. Every drop is counted (`junction_audit_dropped_total{reason}`), logged once per
 * episode, and — once there is room again — recorded in the chain itself as an `audit.dropped` record,
 * so a gap is visible to whoever reads or verifies the log (OWASP Logging Cheat Sheet: protect
 * against loss, record when logging itself fails;
 * https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html).
 *
 * A failed append is logged, counted and retried with capped exponential backoff, forever; records
 * stay queued meanwhile. A retry first asks which of the batch's ids are already stored (a commit
 * whose acknowledgement was lost), so no record is stored twice.
 */
import type { Registry } from 'prom-client';
import type { AuditEntry, AuditSink } from '../core/audit.ts';
import { parseId, type Snowflake } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { AuditLogRepository, AuditRecord, UnchainedAuditRecord } from '../store/index.ts';
import { linkRecords } from './chain.ts';
import { type AuditMetrics, auditMetrics, type DropReason } from './metrics.ts';
import { normalizeEntry } from './normalize.ts';

/** What a reload may change; read on every record. */
export interface AuditSinkSettings {
  /** Also write each stored record to the log as one `audit` line. */
  log: boolean;
  /** Records waiting to be stored; beyond this, new ones are dropped. */
  maxQueue: number;
}

export interface StoreAuditSinkOptions {
  repository: Pick<AuditLogRepository, 'append' | 'storedIds'>;
  /** The process's id generator; a function because a lost node id lease replaces it. */
  ids: () => Snowflake;
  logger: Logger;
  registry: Registry;
  settings?: () => AuditSinkSettings;
  /** Records per transaction; default 500. */
  batchSize?: number;
  /** Backoff between failed appends; default 100 ms doubling to 5 s. */
  retry?: { initialMs: number; maxMs: number };
}

export const DEFAULT_AUDIT_SETTINGS: AuditSinkSettings = Object.freeze({ log: false, maxQueue: 10_000 });
const DROP_NOTICE = 'audit.dropped';

/**
 * @example
 * const audit = new StoreAuditSink({ repository: store.auditLog, ids: () => services.ids,
 *   logger: services.logger, registry: services.metrics.registry });
 * services.audit = audit;
 * // at shutdown, before the store closes:
 * await audit.close();
 */
export class StoreAuditSink implements AuditSink {
  readonly #repo: StoreAuditSinkOptions['repository'];
  readonly #ids: () => Snowflake;
  readonly #logger: Logger;
  readonly #metrics: AuditMetrics;
  readonly #settings: () => AuditSinkSettings;
  readonly #batchSize: number;
  readonly #retry: { initialMs: number; maxMs: number };

  #queue: UnchainedAuditRecord[] = [];
  /** Records ever queued, and those that left the queue (stored or lost): flush() compares them. */
  #accepted = 0;
  #settled = 0;
  #waiters: { target: number; resolve: () => void }[] = [];
  /** Drops since the last `audit.dropped` record, by reason. */
  #unreported = new Map<DropReason, number>();
  #draining: Promise<void> | undefined;
  #backoffMs: number;
  /** The last append failed, so part of the batch may be stored after all. */
  #uncertain = false;
  #wake: (() => void) | undefined;
  #closed = false;
  #warnedClosed = false;
  #stopped = false;
  #closing: Promise<void> | undefined;

  constructor(options: StoreAuditSinkOptions) {
    this.#repo = options.repository;
    this.#ids = options.ids;
    this.#logger = options.logger;
    this.#metrics = auditMetrics(options.registry);
    this.#settings = options.settings ?? (() => DEFAULT_AUDIT_SETTINGS);
    this.#batchSize = options.batchSize ?? 500;
    this.#retry = options.retry ?? { initialMs: 100, maxMs: 5_000 };
    this.#backoffMs = this.#retry.initialMs;
    this.#metrics.track(this, () => this.#queue.length);
  }

  /** Records queued and not stored yet. */
  get queued(): number {
    return this.#queue.length;
  }

  record(entry: AuditEntry): void {
    try {
      if (this.#closed || this.#queue.length >= this.#settings().maxQueue) {
        this.#drop(this.#closed ? 'closed' : 'overflow', entry);
        return;
      }
      const id = this.#ids().next('aud');
      const normalized = normalizeEntry(entry, id, parseId(id).timestampMs);
      if ('invalid' in normalized) this.#drop('invalid', entry, normalized.invalid);
      else this.#enqueue(normalized.record);
    } catch (err) {
      // The contract: never throw into the caller (a request, a reload).
      this.#logger.error({ err }, 'audit record failed');
      this.#metrics.dropped.inc({ reason: 'invalid' });
    }
  }

  flush(): Promise<void> {
    const target = this.#accepted;
    if (this.#settled >= target) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ target, resolve }));
  }

  /**
   * Stops taking records, waits up to `timeoutMs` for the queue to be stored, then stops the writer.
   * Records still queued are counted as `shutdown` drops and logged. Call before closing the store.
   */
  close(timeoutMs = 5_000): Promise<void> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#reportDrops(true);
    this.#closed = true;
    const deadline = Date.now() + timeoutMs;
    await within(this.flush(), timeoutMs);
    this.#stopped = true;
    this.#wake?.();
    // The transaction in flight, if any: the store must not close under it.
    if (this.#draining) await within(this.#draining, Math.max(0, deadline - Date.now()) + 1_000);
    const lost = this.#queue.length;
    if (lost > 0) {
      this.#queue = [];
      this.#metrics.dropped.inc({ reason: 'shutdown' }, lost);
      this.#logger.error({ lost }, 'audit records were not stored before shutdown');
      this.#settle(lost);
    }
    this.#metrics.untrack(this);
  }

  #enqueue(record: UnchainedAuditRecord): void {
    this.#queue.push(record);
    this.#accepted++;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#draining !== undefined || this.#stopped) return;
    // setImmediate: everything recorded in this turn of the event loop joins the first batch.
    this.#draining = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drain())
      .catch((err: unknown) => this.#logger.error({ err }, 'audit writer failed'))
      .finally(() => {
        this.#draining = undefined;
        const unreported = this.#unreported.size > 0 && !this.#closed;
        if ((this.#queue.length > 0 || unreported) && !this.#stopped) this.#schedule();
      });
  }

  async #drain(): Promise<void> {
    this.#reportDrops();
    while (this.#queue.length > 0 && !this.#stopped) {
      const batch = this.#queue.slice(0, this.#batchSize);
      try {
        let pending = batch;
        if (this.#uncertain) {
          const stored = await this.#repo.storedIds(batch.map((r) => r.id));
          pending = batch.filter((r) => !stored.has(r.id));
        }
        const stored = pending.length > 0 ? await this.#repo.append(pending, linkRecords) : [];
        this.#uncertain = false;
        this.#backoffMs = this.#retry.initialMs;
        // Only this loop removes from the queue, and only from the front: the batch is still there.
        this.#queue.splice(0, batch.length);
        this.#stored(stored);
        this.#settle(batch.length);
        this.#reportDrops();
      } catch (err) {
        this.#uncertain = true;
        this.#metrics.writeErrors.inc();
        this.#logger.error(
          { err, queued: this.#queue.length, retryInMs: this.#backoffMs },
          'audit append failed; retrying',
        );
        await this.#sleep(this.#backoffMs);
        this.#backoffMs = Math.min(this.#backoffMs * 2, this.#retry.maxMs);
      }
    }
  }

  #stored(records: readonly AuditRecord[]): void {
    const mirror = this.#settings().log;
    for (const r of records) {
      this.#metrics.records.inc({ action: r.action, outcome: r.outcome });
      if (mirror) this.#logger.info({ audit: logView(r) }, 'audit');
    }
  }

  #settle(n: number): void {
    this.#settled += n;
    while (this.#waiters.length > 0 && this.#waiters[0]!.target <= this.#settled) {
      this.#waiters.shift()!.resolve();
    }
  }

  #drop(reason: DropReason, entry: AuditEntry | undefined, why?: string): void {
    this.#metrics.dropped.inc({ reason });
    const action = typeof entry?.action === 'string' ? entry.action.slice(0, 128) : undefined;
    if (reason === 'closed') {
      if (!this.#warnedClosed)
        this.#logger.warn({ action }, 'audit record after the audit log closed; not stored');
      this.#warnedClosed = true;
      return;
    }
    const before = this.#unreported.get(reason) ?? 0;
    this.#unreported.set(reason, before + 1);
    if (reason === 'invalid') {
      this.#logger.error({ action, problem: why }, 'audit entry refused');
      // The writer reports drops when it runs; let it run even if nothing else is queued.
      this.#schedule();
    }
    // One line per overflow episode; the audit.dropped record carries the count.
    else if (before === 0) this.#logger.error({ action }, 'audit queue full; dropping records');
  }

  /**
   * Queues an `audit.dropped` record for the drops not reported yet, once there is room (or at
   * close). Called by the writer before and after each batch: at most one notice per transaction.
   */
  #reportDrops(force = false): void {
    if (this.#unreported.size === 0 || this.#closed) return;
    if (!force && this.#queue.length >= this.#settings().maxQueue) return;
    const counts = Object.fromEntries(this.#unreported);
    const total = [...this.#unreported.values()].reduce((a, b) => a + b, 0);
    this.#unreported.clear();
    const id = this.#ids().next('aud');
    const notice = normalizeEntry(
      {
        action: DROP_NOTICE,
        outcome: 'failure',
        actor: { kind: 'system', id: 'audit' },
        reason: 'records_dropped',
        after: { dropped: total, ...counts },
      },
      id,
      parseId(id).timestampMs,
    );
    if ('record' in notice) this.#enqueue(notice.record);
    this.#logger.warn({ dropped: counts }, 'audit records were dropped; recorded audit.dropped');
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

/** Resolves when `p` settles or after `ms`, whichever is first; never rejects. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** A stored record as one log line's `audit` field; `before`/`after` as JSON, not JSON-in-a-string. */
function logView(r: AuditRecord) {
  const parse = (s: string | null) => {
    if (s === null) return undefined;
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return s;
    }
  };
  return {
    seq: r.seq,
    id: r.id,
    at: new Date(r.at).toISOString(),
    actor: r.actorId === null ? undefined : { kind: r.actorKind, id: r.actorId },
    action: r.action,
    outcome: r.outcome,
    resource: r.resource ?? undefined,
    requestId: r.requestId ?? undefined,
    clientIp: r.clientIp ?? undefined,
    reason: r.reason ?? undefined,
    before: parse(r.before),
    after: parse(r.after),
    hash: r.hash,
  };
}
