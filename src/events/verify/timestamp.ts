/** Signed timestamps: strict parsing and a symmetric tolerance around the injected clock. */
import { JunctionError } from '../../core/errors.ts';
import { WebhookSignatureMalformed, WebhookTimestampStale } from './errors.ts';

/** Unix seconds as digits only: no sign, fraction, exponent, hex or spaces (`Number()` takes all of those). */
const UNIX_SECONDS = /^[0-9]{1,12}$/;

export function parseUnixSeconds(text: string, label: string): number {
  if (!UNIX_SECONDS.test(text))
    throw new JunctionError(WebhookSignatureMalformed, `${label} timestamp is not Unix seconds`);
  return Number(text);
}

/**
 * Refuses a timestamp more than `toleranceS` before or after now. Stripe's and Slack's own libraries
 * check only the past; a timestamp from the future is as much a sign of a pre-signed or replayed
 * request, so both directions are checked, as the Standard Webhooks library does.
 */
export function checkTolerance(timestampS: number, toleranceS: number, nowMs: number, label: string): void {
  const skewMs = Math.abs(nowMs - timestampS * 1000);
  if (skewMs > toleranceS * 1000)
    throw new JunctionError(
      WebhookTimestampStale,
      `${label} timestamp is more than ${toleranceS} s ${timestampS * 1000 < nowMs ? 'old' : 'ahead'}`,
    );
}
