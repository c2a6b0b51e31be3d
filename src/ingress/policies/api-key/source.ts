/**
 * Where `auth.api-key` finds keys. Policies get only `services` (src/core/policy.ts), and the store is
 * not one of them, so the gateway hands the policy its key source per `Services` once it opened the
 * store. The source is read on each lookup, not at `create`: routes compile before and after it is
 * provided (`junction validate` never provides one, and its routes still compile).
 */
import type { Services } from '../../../core/services.ts';
import type { ApiKey } from '../../../store/index.ts';

/** What the policy needs of the store; `store.apiKeys` is one. */
export interface ApiKeySource {
  findByPrefix(prefix: string): Promise<ApiKey | undefined>;
  /** Records a use; the store writes at most once a minute per key. */
  touch(id: string, at: number): Promise<unknown>;
}

const sources = new WeakMap<Services, ApiKeySource>();

/**
 * @example
 * provideApiKeys(services, store.apiKeys); // in startGateway, once the store is open
 */
export function provideApiKeys(services: Services, source: ApiKeySource): void {
  sources.set(services, source);
}

export function apiKeySource(services: Services): ApiKeySource | undefined {
  return sources.get(services);
}
