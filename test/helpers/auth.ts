/**
 * Test support for the API key, RBAC and admin role tests: a gateway whose `auth.api-key` policies
 * read the gateway's own store, an audit sink that keeps what it was given, admin API calls.
 */
import type { TestContext } from 'node:test';
import type { AuditEntry } from '../../src/core/audit.ts';
import { provideApiKeys } from '../../src/ingress/policies/api-key/index.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';

export interface AuthGateway extends TestGateway {
  /** Every audit entry recorded since the gateway started. */
  audit: AuditEntry[];
  /** JSON call on the admin API with the default admin token unless `headers` say otherwise. */
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Creates a key through the admin API; returns its id and secret. */
  createKey(body: Record<string, unknown>): Promise<{ id: string; secret: string }>;
}

export async function startAuthGateway(
  t: TestContext,
  config: string | Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<AuthGateway> {
  const gw = await startTestGateway(t, config, options);
  // Idempotent: the same line belongs in startGateway once the store is open (docs/auth.md).
  provideApiKeys(gw.gateway.services, gw.gateway.store.apiKeys);
  const audit: AuditEntry[] = [];
  gw.gateway.services.audit = { record: (e) => audit.push(e), flush: async () => {} };
  const admin: AuthGateway['admin'] = (method, path, body, headers = gw.auth) =>
    fetch(gw.adminUrl(`/admin/v1${path}`), {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const createKey: AuthGateway['createKey'] = async (body) => {
    const res = await admin('POST', '/keys', body);
    if (res.status !== 201) throw new Error(`create key: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string; secret: string };
  };
  return Object.assign(gw, { audit, admin, createKey });
}
