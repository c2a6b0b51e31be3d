/**
 * Codes of the delivery worker and the dead-letter operations (docs/errors.md "Event delivery").
 * Destinations' own attempt codes are in ./destinations/errors.ts.
 */
import { defineError } from '../core/errors.ts';

/** A queued delivery names a subscription the running config does not have; it is dead-lettered. */
export const SubscriptionUnknown = defineError(
  'subscription_unknown',
  409,
  'The delivery belongs to a subscription that is not configured',
);

/** Replay and discard work on dead letters only. */
export const DeliveryNotDead = defineError(
  'delivery_not_dead',
  409,
  'The delivery is not in the dead letter queue',
);
