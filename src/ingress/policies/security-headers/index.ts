/**
 * `security.headers` (Q39): response headers that make a browser refuse what XSS and clickjacking
 * need, on every answer of the route — proxied responses, the gateway's own problem documents and
 * redirects alike (OWASP HTTP Headers and XSS Prevention Cheat Sheets):
 *
 * - `Content-Security-Policy` (CSP Level 3), `default-src 'self'` and no framing by default;
 *   optionally a fresh `'nonce-…'` per response in `script-src`, handed to the upstream as
 *   `x-junction-csp-nonce` so its templates can mark their inline scripts;
 * - `Strict-Transport-Security` on https only (RFC 6797 §7.2: ignored, and misleading, over http),
 *   unless `behindTls` says a proxy in front terminates TLS;
 * - `X-Content-Type-Options: nosniff` (a JSON problem document is never sniffed into HTML),
 *   `Referrer-Policy`, `X-Frame-Options` for browsers without `frame-ancestors`,
 *   `Cross-Origin-Opener-Policy`.
 *
 * An upstream that sets one of these itself keeps its value unless `override: true`. A route
 * overrides the defaults by naming the policy with its own config. List it first on a route (or in
 * `defaults.policies`) so answers of the policies after it carry the headers too.
 */
import { randomBytes } from 'node:crypto';
import { definePolicy, type Policy, type PolicyEnv } from '../../../core/policy.ts';
import { type SecurityHeadersConfig, securityHeadersSchema } from './schema.ts';

export type { SecurityHeadersConfig } from './schema.ts';

export const NONCE_HEADER = 'x-junction-csp-nonce';

function serialize(directives: Record<string, string[]>): string {
  return Object.entries(directives)
    .map(([name, sources]) => (sources.length === 0 ? name : `${name} ${sources.join(' ')}`))
    .join('; ');
}

/** The CSP with a per-response nonce: the directive list is fixed, only the nonce changes. */
function nonceTemplate(directives: Record<string, string[]>): (nonce: string) => string {
  const marker = '\u0000nonce';
  const script = directives['script-src'] ?? directives['default-src'] ?? ["'self'"];
  const [before, after] = serialize({ ...directives, 'script-src': [...script, marker] }).split(marker);
  return (nonce) => `${before}'nonce-${nonce}'${after}`;
}

/**
 * @example
 * const p = securityHeadersPolicy(Value.Default(securityHeadersSchema, {}), env);
 */
export function securityHeadersPolicy(config: SecurityHeadersConfig, _env: PolicyEnv): Policy {
  const fixed: Record<string, string> = {};
  if (config.contentTypeOptions) fixed['x-content-type-options'] = 'nosniff';
  if (config.referrerPolicy !== false) fixed['referrer-policy'] = config.referrerPolicy;
  if (config.frameOptions !== false) fixed['x-frame-options'] = config.frameOptions;
  if (config.crossOriginOpenerPolicy !== false) {
    fixed['cross-origin-opener-policy'] = config.crossOriginOpenerPolicy;
  }
  const csp = config.contentSecurityPolicy;
  const cspName = csp.reportOnly ? 'content-security-policy-report-only' : 'content-security-policy';
  const staticCsp = csp.enabled && !csp.nonce ? serialize(csp.directives) : undefined;
  if (staticCsp !== undefined) fixed[cspName] = staticCsp;
  const withNonce = csp.enabled && csp.nonce ? nonceTemplate(csp.directives) : undefined;
  const { hsts } = config;
  const hstsValue = hsts.enabled
    ? `max-age=${hsts.maxAgeS}${hsts.includeSubDomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`
    : undefined;
  const names = [...Object.keys(fixed), cspName, 'strict-transport-security'];

  const policy: Policy = {
    onRequest(ctx) {
      Object.assign(ctx.responseHeaders, fixed);
      if (withNonce !== undefined) {
        const nonce = randomBytes(16).toString('base64');
        ctx.responseHeaders[cspName] = withNonce(nonce);
        ctx.upstreamHeaders[NONCE_HEADER] = nonce;
      }
      if (hstsValue !== undefined && (ctx.protocol === 'https' || hsts.behindTls)) {
        ctx.responseHeaders['strict-transport-security'] = hstsValue;
      }
      return undefined;
    },
  };
  if (!config.override) {
    // The gateway's values win over the upstream's at write time (forwarding.ts); stepping aside
    // here, for the names the upstream set, lets the upstream's own policy through.
    policy.onResponse = (ctx, res) => {
      for (const name of names) if (res.headers[name] !== undefined) delete ctx.responseHeaders[name];
      return res;
    };
  }
  return policy;
}

export const securityHeaders = definePolicy({
  name: 'security.headers',
  description: 'CSP (optional nonce), HSTS, nosniff, Referrer-Policy, X-Frame-Options, COOP on every answer',
  schema: securityHeadersSchema,
  create: securityHeadersPolicy,
});
