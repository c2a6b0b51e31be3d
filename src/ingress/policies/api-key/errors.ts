/**
 * Codes of `auth.api-key`. One code for every bad key, whatever is wrong with it: the answer must not
 * tell a caller whether a key exists, expired or was revoked (OWASP API Security Top 10 2023 API2);
 * the reason goes to the audit log only.
 */
import { defineError } from '../../../core/errors.ts';

export const ApiKeyMissing = defineError('api_key_missing', 401, 'API key required');
export const ApiKeyInvalid = defineError('api_key_invalid', 401, 'API key is not valid');
export const ApiKeyScope = defineError('api_key_scope', 403, 'API key lacks a required scope');
export const ApiKeyUnavailable = defineError(
  'api_key_unavailable',
  503,
  'API keys cannot be checked right now',
);
