/**
 * Pollers' error codes (docs/errors.md). A poll's failure never reaches a client: the codes name
 * what went wrong in the log line and in `junction_poll_errors_total{code}`.
 */
import { defineError } from '../../core/errors.ts';

export const PollStatusUnexpected = defineError(
  'poll_status_unexpected',
  502,
  'The polled API answered with a status the poller cannot use',
);
export const PollResponseInvalid = defineError(
  'poll_response_invalid',
  502,
  "The polled API's response is not JSON with an array of items at the configured pointer",
);
export const PollRequestFailed = defineError(
  'poll_request_failed',
  502,
  'A request to the polled API failed without a response (connection, timeout, TLS)',
);
export const PollThrottled = defineError(
  'poll_throttled',
  503,
  'The polled API asked the poller to wait (429, or 503 with Retry-After)',
);
export const PollLeaseLost = defineError(
  'poll_lease_lost',
  409,
  "Another node took over the source's poll lease while this one was polling",
);
