/**
 * Reading attacker-controlled headers with bounds: every limit is checked before any parsing or HMAC
 * work, so a huge or repeated header costs the gateway nothing but the comparison of its length.
 */
import { JunctionError } from '../../core/errors.ts';
import { WebhookSignatureMalformed, WebhookSignatureMissing } from './errors.ts';
import type { WebhookHeaders } from './types.ts';

/** Stripe sends two `v1` entries during a secret roll and Svix at most 11 signatures; 4 KiB is ample. */
export const MAX_SIGNATURE_HEADER_CHARS = 4096;
/** Entries read from one signature header; more is refused, not truncated (a cut could drop the match). */
export const MAX_SIGNATURE_ENTRIES = 16;
/** Ids, timestamps and types; the longest provider id (a GitHub delivery GUID) is 36 characters. */
export const MAX_SHORT_HEADER_CHARS = 256;

/**
 * The one value of `label` (given in its documented casing, looked up lowercase), or `undefined` when
 * absent or empty. A header sent twice with different values is malformed: which one was signed?
 */
export function optionalHeader(headers: WebhookHeaders, label: string, maxChars: number): string | undefined {
  let value = headers[label.toLowerCase()];
  if (Array.isArray(value)) {
    if (value.length > 1)
      throw new JunctionError(WebhookSignatureMalformed, `${label} is sent more than once`);
    value = value[0];
  }
  if (typeof value !== 'string' || value === '') return undefined;
  if (value.length > maxChars)
    throw new JunctionError(WebhookSignatureMalformed, `${label} is longer than ${maxChars} characters`);
  return value;
}

export function requiredHeader(headers: WebhookHeaders, label: string, maxChars: number): string {
  const value = optionalHeader(headers, label, maxChars);
  if (value === undefined) throw new JunctionError(WebhookSignatureMissing, `${label} header required`);
  return value;
}

/** Splits a list header, refusing more than MAX_SIGNATURE_ENTRIES entries. */
export function entries(value: string, separator: string | RegExp, label: string): string[] {
  const parts = value.split(separator, MAX_SIGNATURE_ENTRIES + 1);
  if (parts.length > MAX_SIGNATURE_ENTRIES)
    throw new JunctionError(
      WebhookSignatureMalformed,
      `${label} has more than ${MAX_SIGNATURE_ENTRIES} entries`,
    );
  return parts;
}
