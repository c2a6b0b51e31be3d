/**
 * The single-node backend: algorithm states in an LRU of `maxKeys` keys (lru-cache), so a flood of
 * distinct client addresses evicts the least recently seen keys instead of growing the heap.
 * Evicting a key forgets its count — the client starts afresh — which errs towards allowing.
 * JavaScript runs one decision at a time, so check-then-commit is atomic here without locks.
 */
import { LRUCache } from 'lru-cache';
import type { Decision, LimitSpec } from './algorithms/index.ts';
import { type Backend, type Item, monotonicNow } from './backend.ts';
import type { CompiledLimit } from './limits.ts';

export interface MemoryBackendOptions {
  maxKeys: number;
  /** Use each limit's per-node share (`local`): the fallback of a Redis backend. */
  share?: boolean;
  clock?: () => number;
}

/**
 * @example
 * const backend = new MemoryBackend({ maxKeys: 100_000 });
 * backend.decide([{ limit, key: '127.0.0.1' }]); // [{ allowed: true, remaining: 9, … }]
 */
export class MemoryBackend implements Backend {
  readonly kind = 'memory';
  readonly #states: LRUCache<string, object>;
  readonly #spec: (l: CompiledLimit) => LimitSpec;
  readonly #clock: () => number;

  constructor(options: MemoryBackendOptions) {
    this.#states = new LRUCache({ max: options.maxKeys });
    this.#spec = options.share ? (l) => l.local : (l) => l.spec;
    this.#clock = options.clock ?? monotonicNow;
  }

  get size(): number {
    return this.#states.size;
  }

  decide(items: readonly Item[]): Decision[] {
    const now = this.#clock();
    const states: object[] = new Array(items.length);
    const decisions: Decision[] = new Array(items.length);
    let all = true;
    for (let i = 0; i < items.length; i++) {
      const { limit, key } = items[i]!;
      const spec = this.#spec(limit);
      const id = `${limit.id}\0${key}`;
      let state = this.#states.get(id);
      if (state === undefined) {
        state = limit.algorithm.init(spec) as object;
        this.#states.set(id, state);
      }
      states[i] = state;
      const d = limit.algorithm.check(state, now, spec);
      decisions[i] = d;
      if (!d.allowed) all = false;
    }
    if (all) {
      for (let i = 0; i < items.length; i++) {
        const limit = items[i]!.limit;
        limit.algorithm.commit(states[i], now, this.#spec(limit));
      }
    }
    return decisions;
  }

  async close(): Promise<void> {
    this.#states.clear();
  }
}
