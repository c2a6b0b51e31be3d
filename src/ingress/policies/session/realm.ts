/**
 * What one route's `auth.session` works with, built once at `create`: its config, the sealer, the
 * provider and store resolvers. Sessions belong to a realm (issuer + client id): a cookie issued for
 * one provider's users is not a session on a route configured for another.
 */
import type { Configuration } from 'openid-client';
import type { AuditEntry } from '../../../core/audit.ts';
import { JunctionError } from '../../../core/errors.ts';
import type { PolicyEnv, RequestContext } from '../../../core/policy.ts';
import type { Services } from '../../../core/services.ts';
import type { SessionRecord } from '../../../store/index.ts';
import { decodeKey, Sealer } from './crypto.ts';
import { SessionStoreUnavailable } from './errors.ts';
import { issuerOf, providerFor } from './provider.ts';
import type { SessionConfig } from './schema.ts';
import { type SessionStore, storeResolver } from './stores.ts';

export interface Realm {
  name: string;
  config: SessionConfig;
  routeName: string;
  services: Services;
  sealer: Sealer;
  provider: () => Promise<Configuration>;
  /** The store, or a 503 `session_store_unavailable` when none is configured or provided. */
  store: () => SessionStore;
  /** Refreshes running in this process, by session id (coalescing). */
  refreshing: Map<string, Promise<SessionRecord | undefined>>;
  /** Claim header pairs, header names lowercased. */
  forwardClaims: [claim: string, header: string][];
}

const refreshingByGateway = new WeakMap<Services, Map<string, Promise<SessionRecord | undefined>>>();

export function buildRealm(config: SessionConfig, env: PolicyEnv): Realm {
  const issuer = issuerOf(config, env.routeName);
  const previous = new Map(config.previousKeys.map((k) => [k.version, decodeKey(k.key)]));
  const resolve = storeResolver(env.services, config.store);
  let refreshing = refreshingByGateway.get(env.services);
  if (refreshing === undefined) {
    refreshing = new Map();
    refreshingByGateway.set(env.services, refreshing);
  }
  return {
    name: `${issuer.href} ${config.clientId}`,
    config,
    routeName: env.routeName,
    services: env.services,
    sealer: new Sealer(config.keyVersion, decodeKey(config.encryptionKey), previous),
    provider: providerFor(env.services, config, issuer),
    store: () => {
      const store = resolve();
      if (store === undefined) {
        throw new JunctionError(
          SessionStoreUnavailable,
          config.store === 'store' ? 'no session store was provided' : 'no Redis URL is configured',
        );
      }
      return store;
    },
    refreshing,
    forwardClaims: Object.entries(config.forward.claims).map(([c, h]) => [c, h.toLowerCase()]),
  };
}

/** The gateway's public origin: `baseUrl`, else what the request says it is. */
export function originOf(realm: Realm, ctx: RequestContext): string {
  return realm.config.baseUrl ?? `${ctx.protocol}://${ctx.host}`;
}

export function redirectUriOf(realm: Realm, ctx: RequestContext): string {
  return originOf(realm, ctx) + realm.config.redirectPath;
}

/** Store calls fail as a 503 `session_store_unavailable`, with the cause in the log. */
export async function guard<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (cause) {
    if (cause instanceof JunctionError) throw cause;
    throw new JunctionError(SessionStoreUnavailable, undefined, { cause });
  }
}

export function audit(
  realm: Realm,
  ctx: RequestContext,
  entry: Pick<AuditEntry, 'action' | 'outcome' | 'reason' | 'actor'>,
): void {
  realm.services.audit.record({
    ...entry,
    resource: `route:${realm.routeName}`,
    requestId: ctx.id,
    clientIp: ctx.clientIp,
  });
}
