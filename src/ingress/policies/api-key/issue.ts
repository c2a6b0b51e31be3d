/** Creating a key, for the admin API and `junction keys create`: the only place a secret exists in clear. */
import type { ApiKey, ApiKeyRepository } from '../../../store/index.ts';
import { mintSecret } from './secret.ts';

/** Roles as `auth.rbac` names them; no commas, so the forwarded roles header stays a plain list. */
export const KEY_ROLE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** RFC 6749 §3.3 scope-token; no spaces, so the forwarded scopes header stays a plain list. */
export const KEY_SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

export interface IssueApiKeyInput {
  name: string;
  scopes: string[];
  roles: string[];
  tenant?: string | null;
  /** Epoch milliseconds. */
  expiresAt?: number | null;
  /** An admin token name, an API key id, `cli:<user>`. */
  createdBy?: string | null;
}

export interface IssuedApiKey {
  key: ApiKey;
  /** Shown to the caller once and never stored; only its SHA-256 is. */
  secret: string;
}

/**
 * @example
 * const { key, secret } = await issueApiKey(store.apiKeys, services.ids, { name: 'ci', scopes: [], roles: ['deployer'] });
 */
export async function issueApiKey(
  repo: Pick<ApiKeyRepository, 'create'>,
  ids: { next(prefix: string): string },
  input: IssueApiKeyInput,
  now = Date.now(),
): Promise<IssuedApiKey> {
  // 60 random bits of lookup prefix: a collision is a unique-index violation, not a shared key.
  const { secret, prefix, hash } = mintSecret();
  const key = await repo.create({
    id: ids.next('jk'),
    prefix,
    hash,
    name: input.name,
    scopes: [...new Set(input.scopes)],
    roles: [...new Set(input.roles)],
    tenant: input.tenant ?? null,
    expiresAt: input.expiresAt ?? null,
    createdAt: now,
    createdBy: input.createdBy ?? null,
  });
  return { key, secret };
}
