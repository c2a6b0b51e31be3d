import { defineError } from '../../../core/errors.ts';

/** No valid session: none, unknown, expired or tampered with (the answer does not say which). */
export const SessionRequired = defineError('session_required', 401, 'Sign-in required');

/** The callback's `state` is missing, unknown, already used, expired, or from another browser. */
export const SessionStateInvalid = defineError('session_state_invalid', 400, 'Unknown or expired sign-in');

/** The provider refused the login or the code exchange (wrong verifier, replayed code, bad ID token). */
export const SessionLoginFailed = defineError('session_login_failed', 401, 'Sign-in failed');

/** `return` is not a path on this gateway (open redirect protection). */
export const SessionReturnInvalid = defineError('session_return_invalid', 400, 'Return address not allowed');

export const SessionProviderUnavailable = defineError(
  'session_provider_unavailable',
  503,
  'Identity provider unavailable',
);

export const SessionStoreUnavailable = defineError(
  'session_store_unavailable',
  503,
  'Session store unavailable',
);
