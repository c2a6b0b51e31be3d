import { defineError } from '../../../core/errors.ts';

/** A cookie-carrying unsafe request from another site, or without a valid CSRF token (Q38). */
export const CsrfRejected = defineError('csrf_rejected', 403, 'Cross-site request refused');
