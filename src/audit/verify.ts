/**
 * Walks the chain from the first record to the head, recomputing every hash (Q50). Pages of
 * `pageSize` records by seq, so memory stays flat however long the log is; appends may continue
 * meanwhile, since the walk stops at the head it read first.
 *
 * What each check catches, reported at the first record that fails it:
 * - `prev_hash`: the record does not link to the one before it — a record before it was removed
 *   (the seq gap is named too), or this one was inserted or moved;
 * - `seq`: links are right but seq skips or repeats — renumbered records;
 * - `hash`: the record's fields no longer produce its hash — it was changed after it was written;
 * - `head`: the last record is not what `audit_chain_head` says — records removed from the end, or a
 *   record appended beside the chain lock;
 * - `anchor`: the record at a seq noted earlier (outside the database) has another hash now — the
 *   chain was rewritten and rehashed from there on, which only an outside copy can reveal.
 */
import type { AuditLogRepository, AuditRecord, ChainHead } from '../store/index.ts';
import { GENESIS_HASH, hashRecord } from './chain.ts';

export type ChainMismatch = 'prev_hash' | 'seq' | 'hash' | 'head' | 'anchor';

export interface ChainFailure {
  mismatch: ChainMismatch;
  /** The first record that fails; for `head`, the seq where the chain should have continued. */
  seq: number;
  id: string | null;
  expected: string;
  actual: string;
  /** For `prev_hash` after a gap: the first and last seq that are not there. */
  missing?: readonly [number, number];
  message: string;
}

export type VerifyResult =
  | { intact: true; records: number; head: ChainHead }
  | { intact: false; records: number; failure: ChainFailure };

export interface VerifyOptions {
  /** Records per query; default 1000. */
  pageSize?: number;
  /** A head noted earlier; the record at its seq must still have its hash. */
  anchor?: ChainHead;
}

type Reader = Pick<AuditLogRepository, 'head' | 'chain'>;

/**
 * @example
 * const result = await verifyChain(store.auditLog);
 * if (!result.intact) console.error(result.failure.message);
 */
export async function verifyChain(repo: Reader, options: VerifyOptions = {}): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 1000;
  const head = await repo.head();
  if (head === undefined) {
    return broken(0, { mismatch: 'head', seq: 0, id: null, expected: 'a head row', actual: 'none' });
  }
  const { anchor } = options;
  if (anchor !== undefined && anchor.seq > head.seq) {
    return broken(0, {
      mismatch: 'anchor',
      seq: anchor.seq,
      id: null,
      expected: `a record at seq ${anchor.seq}`,
      actual: `the head is at seq ${head.seq}`,
    });
  }
  let prev: ChainHead & { id?: string } = { seq: 0, hash: GENESIS_HASH };
  let records = 0;
  for (;;) {
    const page = await repo.chain(prev.seq, head.seq, pageSize);
    for (const r of page) {
      const failure = check(r, prev, anchor);
      if (failure !== undefined) return broken(records, failure);
      prev = r;
      records++;
    }
    if (page.length < pageSize) break;
  }
  if (prev.seq !== head.seq || prev.hash !== head.hash) {
    return broken(records, {
      mismatch: 'head',
      seq: prev.seq + 1,
      id: null,
      expected: `seq ${head.seq} hash ${head.hash}`,
      actual: `seq ${prev.seq} hash ${prev.hash}`,
    });
  }
  // Rows first, head second: a row committed with the head is never newer than the head read after
  // it, so a row beyond that head was written outside the chain lock.
  const [stray] = await repo.chain(head.seq, Number.MAX_SAFE_INTEGER, 1);
  const now = stray && (await repo.head());
  if (stray !== undefined && (now === undefined || stray.seq > now.seq)) {
    return broken(records, {
      mismatch: 'head',
      seq: stray.seq,
      id: stray.id,
      expected: `no record beyond the head (seq ${now?.seq ?? head.seq})`,
      actual: `record seq ${stray.seq}`,
    });
  }
  return { intact: true, records, head };
}

function check(
  r: AuditRecord,
  prev: ChainHead,
  anchor: ChainHead | undefined,
): Omit<ChainFailure, 'message'> | undefined {
  const at = { seq: r.seq, id: r.id };
  if (r.prevHash !== prev.hash) {
    const gap = r.seq > prev.seq + 1 ? { missing: [prev.seq + 1, r.seq - 1] as const } : {};
    return { mismatch: 'prev_hash', ...at, expected: prev.hash, actual: r.prevHash, ...gap };
  }
  if (r.seq !== prev.seq + 1) {
    return { mismatch: 'seq', ...at, expected: String(prev.seq + 1), actual: String(r.seq) };
  }
  const computed = hashRecord(r);
  if (computed !== r.hash) return { mismatch: 'hash', ...at, expected: computed, actual: r.hash };
  if (anchor !== undefined && r.seq === anchor.seq && r.hash !== anchor.hash) {
    return { mismatch: 'anchor', ...at, expected: anchor.hash, actual: r.hash };
  }
  return undefined;
}

function broken(records: number, f: Omit<ChainFailure, 'message'>): VerifyResult {
  return { intact: false, records, failure: { ...f, message: describe(f) } };
}

/** One line an operator can act on. */
function describe(f: Omit<ChainFailure, 'message'>): string {
  const where = f.id === null ? `seq ${f.seq}` : `seq ${f.seq} (${f.id})`;
  switch (f.mismatch) {
    case 'prev_hash': {
      const [first, last] = f.missing ?? [];
      const gap =
        first === undefined ? '' : `; seq ${first === last ? first : `${first}..${last}`} is missing`;
      return `${where}: prev_hash ${f.actual} is not the hash of the record before it (${f.expected})${gap}; a record before it was removed, or this one was inserted or moved`;
    }
    case 'seq':
      return `${where}: expected seq ${f.expected}; records were renumbered`;
    case 'hash':
      return `${where}: stored hash ${f.actual} does not match its fields (computed ${f.expected}); the record was changed`;
    case 'head':
      return f.seq === 0
        ? 'the audit_chain_head row is missing'
        : `${where}: the chain head says ${f.expected} but found ${f.actual}`;
    case 'anchor':
      return `${where}: anchor expected hash ${f.expected}, found ${f.actual}; the chain was rewritten from here or earlier`;
  }
}
