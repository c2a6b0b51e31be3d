/**
 * Codes every auth policy shares (API keys, JWT, mTLS, sessions, RBAC, ABAC), so a client sees one
 * `unauthenticated` and one `forbidden` whichever policy refused it. Credential-specific failures
 * (`jwt_invalid`, …) live in each policy's own errors.ts. The precise reason for a refusal goes to
 * the audit log only (`AuditEntry.reason`), never into the answer (RFC 6750 §3.1 leaves it optional;
 * naming the failing check helps an attacker more than a client).
 */
import { ConfigInvalid } from '../../config/errors.ts';
import { defineError, JunctionError } from '../../core/errors.ts';

/** No principal: no auth policy established who the caller is (RFC 9110 §15.5.2). */
export const Unauthenticated = defineError('unauthenticated', 401, 'Authentication required');

/** A principal, but an authorization policy (RBAC, ABAC) does not allow this request (RFC 9110 §15.5.4). */
export const Forbidden = defineError('forbidden', 403, 'Not allowed');

/**
 * A setting the schema cannot check (a key that does not parse, Cedar text with a syntax error),
 * found when the route compiles: a `config_invalid` naming the route and the policy, so a start
 * fails and a reload is rejected with the previous config kept.
 */
export function authConfigError(routeName: string, policy: string, message: string): JunctionError {
  return new JunctionError(ConfigInvalid, `route ${routeName}: ${policy}: ${message}`);
}
