/**
 * `auth.mtls` (Q15): authenticates the caller by the client certificate the TLS listener verified
 * (`listeners.proxy.tls` with `ca`). Identity comes from the SPIFFE id (X.509-SVID spec §2), the
 * subject alternative names (RFC 5280 §4.2.1.6) and the subject CN; an allow list narrows who may
 * call the route, and a role mapping gives the principal its roles for RBAC.
 *
 * The listener does the cryptography: with `rejectUnauthorized` (the default) a client without a
 * trusted certificate never gets past the handshake; with `rejectUnauthorized: false` it does, and
 * this policy answers 401 `client_cert_required`, so a listener can mix routes that need a
 * certificate with routes that don't. Refusals are audited with the precise reason.
 */
import { JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv, type RequestContext } from '../../../core/policy.ts';
import type { Principal } from '../../../core/principal.ts';
import { ClientCertForbidden, ClientCertRequired } from './errors.ts';
import { anyOf, type NameMatcher, nameMatcher } from './names.ts';
import { type PeerIdentity, peerOf } from './peer.ts';
import { type MtlsConfig, mtlsSchema } from './schema.ts';

export type { PeerIdentity } from './peer.ts';
export { peerOf } from './peer.ts';
export type { MtlsConfig } from './schema.ts';

/**
 * Builds the policy for one route; `mtls.create` is this.
 * @example
 * const p = mtlsPolicy({ allow: { spiffe: ['spiffe://acme.test/ns/billing/*'] }, forward: { header: 'x-junction-client-cert-id' }, roles: {} }, env);
 */
export function mtlsPolicy(config: MtlsConfig, env: PolicyEnv): Policy {
  const { services } = env;
  const allowed = allowMatcher(config.allow);
  const roleRules = Object.entries(config.roles).map(([pattern, roles]) => ({
    matches: nameMatcher(pattern),
    roles,
  }));
  const header = config.forward.header;

  const refuse = (ctx: RequestContext, reason: string, who?: PeerIdentity): never => {
    services.audit.record({
      action: 'auth.deny',
      outcome: 'deny',
      // Only a certificate the listener verified names an actor; an untrusted one proves nothing.
      ...(who ? { actor: { kind: 'mtls', id: who.id } } : {}),
      resource: `route:${env.routeName}`,
      requestId: ctx.id,
      clientIp: ctx.clientIp,
      reason,
    });
    if (who === undefined)
      throw new JunctionError(ClientCertRequired, 'present a client certificate the gateway trusts');
    throw new JunctionError(ClientCertForbidden, 'this client certificate may not call this route');
  };

  return {
    onRequest(ctx) {
      const peer = peerOf(ctx.req.socket);
      if (peer.state === 'plaintext') return refuse(ctx, 'client_cert_required:plaintext');
      if (peer.state === 'none') return refuse(ctx, 'client_cert_required:none');
      if (peer.state === 'untrusted') return refuse(ctx, `client_cert_untrusted:${peer.reason}`);
      const who = peer.identity;
      if (allowed !== undefined && !allowed(who)) return refuse(ctx, 'client_cert_forbidden', who);
      ctx.upstreamHeaders[header] = who.id;
      // The first policy that authenticates names the principal (core/principal.ts).
      ctx.slots.principal ??= principalOf(who, rolesOf(who, roleRules));
      return undefined;
    },
  };
}

/** undefined when no list is configured: every verified certificate is allowed. */
function allowMatcher(allow: MtlsConfig['allow']): ((who: PeerIdentity) => boolean) | undefined {
  const { spiffe, sans, subjects } = allow;
  if (spiffe === undefined && sans === undefined && subjects === undefined) return undefined;
  const bySpiffe = spiffe ? anyOf(spiffe) : NEVER;
  const bySan = sans ? anyOf(sans) : NEVER;
  const bySubject = subjects ? anyOf(subjects) : NEVER;
  return (who) =>
    (who.spiffeId !== undefined && bySpiffe(who.spiffeId)) ||
    [...who.sans.dns, ...who.sans.uri, ...who.sans.ip, ...who.sans.email].some(bySan) ||
    (who.commonName !== undefined && bySubject(who.commonName));
}

const NEVER: NameMatcher = () => false;

function rolesOf(who: PeerIdentity, rules: { matches: NameMatcher; roles: string[] }[]): string[] {
  const roles = new Set<string>();
  for (const rule of rules) if (who.names.some(rule.matches)) for (const r of rule.roles) roles.add(r);
  return [...roles];
}

function principalOf(who: PeerIdentity, roles: string[]): Principal {
  return {
    kind: 'mtls',
    id: who.id,
    roles,
    scopes: [],
    attributes: {
      subject: who.subject,
      issuer: who.issuer,
      commonName: who.commonName,
      spiffeId: who.spiffeId,
      sans: who.sans,
      fingerprint256: who.fingerprint256,
      serialNumber: who.serialNumber,
      validTo: who.validTo,
    },
  };
}

export const mtls = definePolicy({
  name: 'auth.mtls',
  description:
    'Client certificates (mutual TLS): SPIFFE id / SAN / subject allow lists, roles by name, identity forwarded upstream',
  schema: mtlsSchema,
  create: (config, env) => mtlsPolicy(config, env),
});
