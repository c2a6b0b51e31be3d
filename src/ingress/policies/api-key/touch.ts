/**
 * `last_used_at`, written lazily: at most once a minute per key from this process (and the store's
 * own condition makes it once a minute across nodes), off the request path, failures only logged.
 * Shared by every route of one gateway, so a key used on ten routes is still one write a minute.
 */
import type { Services } from '../../../core/services.ts';
import { LAST_USED_RESOLUTION_MS } from '../../../store/index.ts';
import { apiKeySource } from './source.ts';

const MAX_TRACKED = 10_000;
const recent = new WeakMap<Services, Map<string, number>>();

export class LastUse {
  readonly #services: Services;
  readonly #now: () => number;
  readonly #seen: Map<string, number>;

  constructor(services: Services, now: () => number) {
    this.#services = services;
    this.#now = now;
    let seen = recent.get(services);
    if (seen === undefined) {
      seen = new Map();
      recent.set(services, seen);
    }
    this.#seen = seen;
  }

  record(id: string): void {
    const at = this.#now();
    const last = this.#seen.get(id);
    if (last !== undefined && at - last < LAST_USED_RESOLUTION_MS) return;
    // Only verified keys get here, so the map is bounded by the keys in use; the cap guards anyway.
    if (this.#seen.size >= MAX_TRACKED) this.#seen.clear();
    this.#seen.set(id, at);
    const source = apiKeySource(this.#services);
    source?.touch(id, at).catch((err: unknown) => {
      this.#services.logger.warn({ err, keyId: id }, 'could not record API key use');
    });
  }
}
