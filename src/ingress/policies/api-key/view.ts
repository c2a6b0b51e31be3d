/**
 * An API key as the admin API, the CLI and the audit log show it: never the secret or its digest
 * (only the non-secret lookup prefix, so a leaked `jk_…` secret can be matched to its key).
 */
import type { ApiKey } from '../../../store/index.ts';

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  roles: string[];
  tenant: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  created_by: string | null;
  last_used_at: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function apiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    roles: key.roles,
    tenant: key.tenant,
    expires_at: iso(key.expiresAt),
    revoked_at: iso(key.revokedAt),
    created_at: iso(key.createdAt)!,
    created_by: key.createdBy,
    last_used_at: iso(key.lastUsedAt),
  };
}
