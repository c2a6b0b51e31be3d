/**
 * The OpenID Provider as `openid-client` sees it: discovered once per gateway and client (OpenID
 * Connect Discovery 1.0 / RFC 8414), on first use rather than at `create`, which is synchronous and
 * runs again on every reload. A failed discovery is remembered for a few seconds, so an outage costs
 * one attempt per interval rather than one per request.
 */
import * as client from 'openid-client';
import { ConfigInvalid } from '../../../config/errors.ts';
import { JunctionError } from '../../../core/errors.ts';
import type { Services } from '../../../core/services.ts';
import { SessionProviderUnavailable } from './errors.ts';
import type { SessionConfig } from './schema.ts';

const RETRY_AFTER_FAILURE_MS = 5000;
const WELL_KNOWN = '/.well-known/openid-configuration';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface Entry {
  at: number;
  failed: boolean;
  promise: Promise<client.Configuration>;
}

const byGateway = new WeakMap<Services, Map<string, Entry>>();

/** The issuer identifier of a configured issuer or discovery URL. */
export function issuerOf(config: SessionConfig, routeName: string): URL {
  const text = config.issuer.endsWith(WELL_KNOWN)
    ? config.issuer.slice(0, -WELL_KNOWN.length)
    : config.issuer;
  const url = new URL(text);
  // RFC 9700 §2.6 / RFC 6749 §3.1: the endpoints must be TLS-protected; plain http only on loopback.
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    throw new JunctionError(
      ConfigInvalid,
      `route ${routeName}: auth.session: issuer must be https (http only for a loopback address)`,
    );
  }
  return url;
}

/**
 * @example
 * const provider = providerFor(services, config, issuerOf(config, 'web'));
 * const oidc = await provider();
 */
export function providerFor(
  services: Services,
  config: SessionConfig,
  issuer: URL,
): () => Promise<client.Configuration> {
  let entries = byGateway.get(services);
  if (entries === undefined) {
    entries = new Map();
    byGateway.set(services, entries);
  }
  const cache = entries;
  const id = JSON.stringify([issuer.href, config.clientId, config.clientSecret, config.providerTimeoutMs]);
  const timeout = Math.ceil(config.providerTimeoutMs / 1000);
  return () => {
    const now = Date.now();
    const hit = cache.get(id);
    if (hit !== undefined && (!hit.failed || now - hit.at < RETRY_AFTER_FAILURE_MS)) return hit.promise;
    const entry: Entry = { at: now, failed: false, promise: discover(issuer, config, timeout) };
    entry.promise.catch((err: unknown) => {
      entry.failed = true;
      services.logger.warn({ err, issuer: issuer.href }, 'auth.session: OpenID discovery failed');
    });
    cache.set(id, entry);
    return entry.promise;
  };
}

async function discover(issuer: URL, config: SessionConfig, timeout: number): Promise<client.Configuration> {
  const auth =
    config.clientSecret === undefined ? client.None() : client.ClientSecretBasic(config.clientSecret);
  try {
    const oidc = await client.discovery(issuer, config.clientId, undefined, auth, {
      timeout,
      execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
    });
    oidc.timeout = timeout;
    return oidc;
  } catch (cause) {
    throw new JunctionError(SessionProviderUnavailable, 'the identity provider could not be discovered', {
      cause,
    });
  }
}

/**
 * Whether an openid-client failure is the transport (refused, reset, timed out, a 5xx) rather than
 * the provider's answer: a refusal ends a login or a session, an outage must not.
 */
export function isTransportFailure(err: unknown): boolean {
  if (err instanceof TypeError) return true; // fetch() rejects with TypeError('fetch failed')
  const e = err as { name?: string; code?: string; cause?: { name?: string } } | undefined;
  const timedOut = (n: string | undefined) => n === 'TimeoutError' || n === 'AbortError';
  return timedOut(e?.name) || timedOut(e?.cause?.name) || e?.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM';
}
