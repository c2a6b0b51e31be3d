import { defineError } from '../../../core/errors.ts';

/**
 * No token where the route looks for one. The answer carries `WWW-Authenticate: Bearer` without an
 * error code (RFC 6750 §3.1: a request without credentials gets none).
 */
export const JwtMissing = defineError('jwt_missing', 401, 'Bearer token required');

/**
 * One code for every way a token can fail (signature, expiry, issuer, audience, algorithm, shape):
 * which check failed goes to the audit log only. `WWW-Authenticate: Bearer error="invalid_token"`
 * (RFC 6750 §3.1).
 */
export const JwtInvalid = defineError('jwt_invalid', 401, 'Bearer token invalid');

/**
 * The JWKS could not be fetched and no keys from an earlier fetch are at hand: the token was not
 * judged, so this is not a 401 (the client's token may be fine).
 */
export const JwksUnavailable = defineError('jwks_unavailable', 503, 'Signing keys unavailable');
