/**
 * Codes of the inbound pipeline (docs/events.md). Verification codes are in ./verify/errors.ts; the
 * delivery side declares its own.
 */
import { defineError } from '../core/errors.ts';

/**
 * The event passed verification but could not be written (the database is down, locked past its
 * timeout, or full). Nothing was acknowledged: the sender keeps the event and sends it again, which
 * every webhook provider does on a 5xx and a broker does for an unacknowledged message.
 */
export const EventNotStored = defineError('event_not_stored', 503, 'The event could not be stored');

/**
 * The event cannot be stored as given: a type or id that is empty, longer than the store takes
 * (200 characters for types, 512 for ids) or contains NUL. Sending it again will not help.
 */
export const EventInvalid = defineError('event_invalid', 400, 'The event cannot be stored as given');
