import { defineError } from '../../../core/errors.ts';

/**
 * Declared with 503, the usual status of an injected abort; a route's `abort.status` replaces it on
 * the answer while the code stays the same (see `abortSpec` in index.ts).
 */
export const FaultInjected = defineError('fault_injected', 503, 'Fault injected');
