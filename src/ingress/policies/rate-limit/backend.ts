/** What the policy asks of a store of counters: one decision for all the limits of a request. */
import type { Decision } from './algorithms/index.ts';
import type { CompiledLimit } from './limits.ts';

export interface Item {
  limit: CompiledLimit;
  key: string;
}

export interface Backend {
  readonly kind: 'memory' | 'redis';
  /**
   * One decision per item, in order. Atomic per request: either every limit records the request
   * (all allowed) or none does. Synchronous in memory; a Redis backend rejects when it cannot decide.
   */
  decide(items: readonly Item[]): Decision[] | Promise<Decision[]>;
  close(): Promise<void>;
}

/** Milliseconds since the epoch with sub-millisecond resolution, never going back. */
export const monotonicNow = (): number => performance.timeOrigin + performance.now();
