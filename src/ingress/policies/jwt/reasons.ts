/**
 * Why a token was refused, as a short stable string for the audit log (`AuditEntry.reason`). The
 * client only ever sees `jwt_invalid`: telling it which check failed helps an attacker probing
 * keys and clocks more than a legitimate client (RFC 6750 §3.1 makes `error_description` optional).
 */
import { errors } from 'jose';

export function reasonOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return err.claim === 'iat' ? 'too_old' : 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'not_yet_valid';
    if (err.claim === 'iat') return 'issued_in_future';
    if (err.claim === 'iss') return 'wrong_issuer';
    if (err.claim === 'aud') return 'wrong_audience';
    if (err.claim === 'typ') return 'wrong_typ';
    if (err.reason === 'missing') return `missing_claim:${err.claim}`;
    return `bad_claim:${err.claim}`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg_not_allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'ambiguous_key';
  if (err instanceof errors.JOSENotSupported) return 'unsupported';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed';
  // jose's own TypeErrors: a key that does not fit the algorithm (e.g. a public key offered for HS*).
  if (err instanceof TypeError) return 'key_mismatch';
  return 'invalid';
}
