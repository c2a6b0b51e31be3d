/**
 * The audit log (Q50): append, read, list. There is no update and no delete, on purpose: the table is
 * append-only (triggers in migrations/0005-audit-log.ts; REVOKE for the app role in
 * docs/operations.md). What goes into a row and how it is hashed is src/audit/'s business; this
 * repository only guarantees that appends are serialized, so the chain stays one line:
 *
 * - PostgreSQL: `select … from audit_chain_head where id = 1 for update` inside the insert
 *   transaction. Every appender of every node queues on that row lock; after the holder commits, the
 *   next one reads the head it left (READ COMMITTED re-reads a locked row's newest version:
 *   https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED).
 * - SQLite: the transaction starts with `BEGIN IMMEDIATE` (src/store/sqlite-dialect.ts), which takes
 *   the database's write lock before the head is read.
 *
 * Lists are newest first by `id` (a Snowflake: time order), with the last id as cursor; `from`/`to`
 * become an id range, so every filter is one index range read in order (src/store/query-plans.test.ts).
 */
import type { Kysely, Transaction } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { JUNCTION_EPOCH, parseId, Snowflake } from '../core/ids.ts';
import { MAX_PAGE_LIMIT, type Page } from './config-revisions.ts';
import { StorePageLimitInvalid, StoreRecordInvalid } from './errors.ts';
import type { AuditLogTable, Database } from './schema.ts';

export const AUDIT_OUTCOMES = ['allow', 'deny', 'success', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditRecord {
  seq: number;
  /** `aud_<snowflake>`. */
  id: string;
  /** Epoch milliseconds. */
  at: number;
  actorKind: string | null;
  actorId: string | null;
  action: string;
  outcome: AuditOutcome;
  resource: string | null;
  requestId: string | null;
  clientIp: string | null;
  reason: string | null;
  /** JSON text, exactly as stored and hashed. */
  before: string | null;
  after: string | null;
  prevHash: string;
  hash: string;
}

/** A record before the chain gives it a place: what `append` hands to `link`. */
export type UnchainedAuditRecord = Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>;

export interface ChainHead {
  /** Seq of the last record; 0 while the log is empty. */
  seq: number;
  hash: string;
}

/** Places records after `head` (undefined when the head row is missing); src/audit/chain.ts. */
export type ChainLinker = (
  head: ChainHead | undefined,
  records: readonly UnchainedAuditRecord[],
) => AuditRecord[];

export interface AuditFilter {
  action?: string;
  /** Matches `actor_id`. */
  actor?: string;
  outcome?: AuditOutcome;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
}

export interface ListAuditOptions extends AuditFilter {
  /** 1..1000. */
  limit: number;
  /** The `next` of the previous page: the last id it held. */
  after?: string;
}

/** Rows per INSERT: 15 columns × 500 stays under both dialects' bound-parameter limits. */
const INSERT_CHUNK = 500;

export class AuditLogRepository {
  readonly #db: Kysely<Database>;
  readonly #dialect: 'sqlite' | 'postgres';

  constructor(db: Kysely<Database>, dialect: 'sqlite' | 'postgres') {
    this.#db = db;
    this.#dialect = dialect;
  }

  /**
   * Appends `records` in one transaction, under the chain lock; returns them as stored.
   * @example
   * const stored = await store.auditLog.append([record], linkRecords);
   */
  async append(records: readonly UnchainedAuditRecord[], link: ChainLinker): Promise<AuditRecord[]> {
    for (const r of records) checkRecord(r);
    if (records.length === 0) return [];
    return this.#db.transaction().execute(async (trx) => {
      const head = await this.headQuery(true, trx).executeTakeFirst();
      const chained = link(head, records);
      checkLinked(head, records, chained);
      for (let i = 0; i < chained.length; i += INSERT_CHUNK) {
        await this.insertQuery(chained.slice(i, i + INSERT_CHUNK), trx).execute();
      }
      const last = chained.at(-1)!;
      const moved = await this.advanceHeadQuery(head!, last, trx).executeTakeFirst();
      if (moved.numUpdatedRows !== 1n) throw new Error('audit_chain_head moved while locked');
      return chained;
    });
  }

  /** Which of `ids` are stored: a writer retrying after an unknown commit outcome skips those. */
  async storedIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.storedIdsQuery(ids).execute();
    return new Set(rows.map((r) => r.id));
  }

  async get(id: string): Promise<AuditRecord | undefined> {
    const row = await this.getQuery(id).executeTakeFirst();
    return row && toRecord(row);
  }

  /** The chain's head as stored; undefined if its row is gone (tampering). */
  async head(): Promise<ChainHead | undefined> {
    const row = await this.headQuery(false).executeTakeFirst();
    return row && { seq: row.seq, hash: row.hash };
  }

  /** One page, newest first. */
  async list(options: ListAuditOptions): Promise<Page<AuditRecord>> {
    const rows = await this.listQuery(options).execute();
    const items = rows.slice(0, options.limit).map(toRecord);
    const last = items.at(-1);
    return rows.length > options.limit && last !== undefined ? { items, next: last.id } : { items };
  }

  /** Records with `afterSeq < seq <= untilSeq` in chain order, at most `limit`: verification's pages. */
  async chain(afterSeq: number, untilSeq: number, limit: number): Promise<AuditRecord[]> {
    return (await this.chainQuery(afterSeq, untilSeq, limit).execute()).map(toRecord);
  }

  /** Index: primary key. `for update` takes the chain lock (PostgreSQL; SQLite locked at BEGIN). */
  headQuery(lock: boolean, db: Kysely<Database> | Transaction<Database> = this.#db) {
    const q = db.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 1);
    return lock && this.#dialect === 'postgres' ? q.forUpdate() : q;
  }

  insertQuery(records: readonly AuditRecord[], db: Kysely<Database> | Transaction<Database> = this.#db) {
    return db.insertInto('audit_log').values(records.map(toRow));
  }

  /** Index: primary key. The seq guard makes a lost lock an error instead of a fork. */
  advanceHeadQuery(from: ChainHead, to: ChainHead, db: Kysely<Database> | Transaction<Database> = this.#db) {
    return db
      .updateTable('audit_chain_head')
      .set({ seq: to.seq, hash: to.hash })
      .where('id', '=', 1)
      .where('seq', '=', from.seq);
  }

  /** Index: audit_log_id_key. */
  storedIdsQuery(ids: readonly string[]) {
    return this.#db.selectFrom('audit_log').select('id').where('id', 'in', ids);
  }

  /** Index: audit_log_id_key. */
  getQuery(id: string) {
    return this.#db.selectFrom('audit_log').selectAll().where('id', '=', id);
  }

  /**
   * Index: `audit_log_<filter>_id_idx` for the first filter given, else audit_log_id_key, read
   * backwards from the upper id bound; further filters are checked on the rows read. One row past
   * the page tells whether there is a next one.
   */
  listQuery(options: ListAuditOptions) {
    const { limit, after, action, actor, outcome, from, to } = options;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new JunctionError(StorePageLimitInvalid, `limit must be an integer in 1..${MAX_PAGE_LIMIT}`);
    }
    let q = this.#db.selectFrom('audit_log').selectAll();
    if (action !== undefined) q = q.where('action', '=', action);
    if (actor !== undefined) q = q.where('actor_id', '=', actor);
    if (outcome !== undefined) q = q.where('outcome', '=', outcome);
    const lower = from === undefined ? undefined : idFloor(from);
    const upper = to === undefined ? undefined : idFloor(to);
    if (lower !== undefined) q = q.where('id', '>=', lower);
    if (upper !== undefined) q = q.where('id', '<', upper);
    if (after !== undefined) q = q.where('id', '<', after);
    return q.orderBy('id', 'desc').limit(limit + 1);
  }

  /** Index: primary key, range read in order. */
  chainQuery(afterSeq: number, untilSeq: number, limit: number) {
    return this.#db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', afterSeq)
      .where('seq', '<=', untilSeq)
      .orderBy('seq')
      .limit(limit);
  }
}

/**
 * The smallest `aud_` id issued at or after `ms` (node 0, sequence 0), as a string bound. Before the
 * id epoch every id is greater, after the 41-bit range every id is smaller: `aud_` alone and
 * `aud_~` sort below and above all 13-character Crockford bodies.
 */
function idFloor(ms: number): string {
  if (ms <= JUNCTION_EPOCH) return 'aud_';
  if (ms >= JUNCTION_EPOCH + 2 ** 41) return 'aud_~';
  return new Snowflake({ nodeId: 0, now: () => Math.floor(ms) }).next('aud');
}

function checkRecord(r: UnchainedAuditRecord): void {
  let prefix: string | undefined;
  try {
    prefix = parseId(r.id).prefix;
  } catch {
    prefix = undefined;
  }
  if (prefix !== 'aud') throw new JunctionError(StoreRecordInvalid, 'audit id must be an aud_ Snowflake id');
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(r.outcome)) {
    throw new JunctionError(StoreRecordInvalid, `audit outcome must be one of ${AUDIT_OUTCOMES}`);
  }
  if (typeof r.action !== 'string' || r.action.length === 0) {
    throw new JunctionError(StoreRecordInvalid, 'audit action must be a non-empty string');
  }
  if (!Number.isSafeInteger(r.at)) throw new JunctionError(StoreRecordInvalid, 'audit at must be epoch ms');
}

/** The linker must continue the head it was given, one seq at a time, with every record once. */
function checkLinked(
  head: ChainHead | undefined,
  records: readonly UnchainedAuditRecord[],
  chained: readonly AuditRecord[],
): void {
  let prev = head;
  const ok =
    prev !== undefined &&
    chained.length === records.length &&
    chained.every((r, i) => {
      const linked = r.id === records[i]!.id && r.seq === prev!.seq + 1 && r.prevHash === prev!.hash;
      prev = r;
      return linked;
    });
  if (!ok) throw new JunctionError(StoreRecordInvalid, 'audit records do not continue the chain head');
}

function toRow(r: AuditRecord): AuditLogTable {
  return {
    seq: r.seq,
    id: r.id,
    at: r.at,
    actor_kind: r.actorKind,
    actor_id: r.actorId,
    action: r.action,
    outcome: r.outcome,
    resource: r.resource,
    request_id: r.requestId,
    client_ip: r.clientIp,
    reason: r.reason,
    before: r.before,
    after: r.after,
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

function toRecord(row: AuditLogTable): AuditRecord {
  return {
    seq: row.seq,
    id: row.id,
    at: row.at,
    actorKind: row.actor_kind,
    actorId: row.actor_id,
    action: row.action,
    outcome: row.outcome as AuditOutcome,
    resource: row.resource,
    requestId: row.request_id,
    clientIp: row.client_ip,
    reason: row.reason,
    before: row.before,
    after: row.after,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
