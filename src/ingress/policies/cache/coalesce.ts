/**
 * Request coalescing (Q41; nginx `proxy_cache_lock`, Varnish request collapsing): concurrent misses
 * for one key make one upstream call. The first request leads and goes upstream; the others follow,
 * waiting until the leader has stored the response (or found it uncacheable) or `timeoutMs` passes,
 * then look the key up again.
 *
 * In process this is a Map of promises. Across nodes sharing Redis, the leader of each node also
 * takes a short `SET NX PX` claim; a node that does not get it polls the store until the entry lands,
 * the claim goes, or the wait runs out — then its leader goes upstream after all.
 */
import type { CacheStore } from './store.ts';

/** How often a node that lost the cross-node claim looks for the entry. */
const POLL_MS = 25;

/** The right to go upstream for one key; `release()` wakes the followers (idempotent). */
export class Lead {
  readonly key: string;
  readonly #onRelease: (lead: Lead) => void;
  #released = false;
  /** Set when this lead also holds the store's cross-node claim. */
  claimed = false;

  constructor(key: string, onRelease: (lead: Lead) => void) {
    this.key = key;
    this.#onRelease = onRelease;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease(this);
  }
}

export type Join = { lead: Lead } | { wait: Promise<void> };

export class Coalescer {
  readonly #pending = new Map<
    string,
    { promise: Promise<void>; wake: () => void; lead: Lead; since: number }
  >();
  readonly #store: CacheStore;

  constructor(store: CacheStore) {
    this.#store = store;
  }

  /**
   * Either the lead for `key` (the caller must `release()` it) or a promise to wait on. A lead held
   * longer than `maxHoldMs` counts as abandoned (a bug or a body nobody read must not make every
   * later request for the key wait out its timeout): its followers are woken and the caller leads.
   */
  join(key: string, maxHoldMs: number): Join {
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      if (Date.now() - pending.since <= maxHoldMs) return { wait: pending.promise };
      this.#pending.delete(key);
      pending.wake();
    }
    let wake: () => void = () => {};
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const lead = new Lead(key, (l) => this.#released(l));
    this.#pending.set(key, { promise, wake, lead, since: Date.now() });
    return { lead };
  }

  #released(lead: Lead): void {
    const pending = this.#pending.get(lead.key);
    if (pending?.lead === lead) {
      this.#pending.delete(lead.key);
      pending.wake();
    }
    if (lead.claimed) this.#store.unlock(lead.key).catch(() => {});
  }

  /**
   * What a new lead does before going upstream. With a shared store it takes the cross-node claim,
   * or waits (bounded) while another node holds it. Then it looks once more: the entry may have
   * landed between the caller's lookup and its lead (double-checked locking), and a second upstream
   * call would be exactly what coalescing is for. Resolves true when this request should go upstream.
   */
  async claim(key: string, lead: Lead, timeoutMs: number, landed: () => Promise<boolean>): Promise<boolean> {
    try {
      if (this.#store.kind !== 'memory' && !(await this.#store.lock(key, timeoutMs))) {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          await sleep(POLL_MS);
          if (await landed()) return false;
          // The other node is done without storing (uncacheable): go upstream like its followers.
          if (!(await this.#store.locked(key))) break;
        }
      } else if (this.#store.kind !== 'memory') {
        lead.claimed = true;
      }
      return !(await landed());
    } catch {
      // The store is unreachable: coalescing is an optimisation, go upstream.
      return true;
    }
  }

  /** Waits for a leader, at most `timeoutMs`; never rejects. */
  static async follow(wait: Promise<void>, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      wait,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
