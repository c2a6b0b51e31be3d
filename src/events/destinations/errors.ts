/**
 * Codes of failed delivery attempts (docs/errors.md "Event delivery"). A destination puts one of them
 * in every `retry` or `reject` outcome, so attempt logs, metrics and the admin API match on `code`; the
 * statuses are what the admin API answers with when it reports an attempt as a problem. Whether the
 * attempt is retried is the outcome's `kind`, not the code: a `destination_status` may be either.
 */
import { defineError } from '../../core/errors.ts';

export const DestinationStatus = defineError(
  'destination_status',
  502,
  'The destination answered with a failure status',
);
export const DestinationGone = defineError('destination_gone', 502, 'The destination endpoint is gone (410)');
export const DestinationTimeout = defineError(
  'destination_timeout',
  504,
  'The destination did not answer in time',
);
export const DestinationUnreachable = defineError(
  'destination_unreachable',
  502,
  'The destination could not be reached',
);
export const DestinationAddressForbidden = defineError(
  'destination_address_forbidden',
  502,
  'The destination resolves to a private or loopback address',
);
export const DestinationEventInvalid = defineError(
  'destination_event_invalid',
  422,
  'The event cannot be encoded for this destination',
);
export const DestinationRefused = defineError('destination_refused', 502, 'The broker refused the message');
export const DestinationUnroutable = defineError(
  'destination_unroutable',
  502,
  'No stream or queue takes messages with this subject or routing key',
);
export const DestinationAborted = defineError('destination_aborted', 503, 'The delivery attempt was aborted');
