/** What every provider's verifier takes and gives (one interface, one file per scheme). */

/**
 * Request headers as `node:http` gives them: lowercase names; a repeated header is an array
 * (`set-cookie`) or joined with `, ` (everything else).
 */
export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface WebhookRequest {
  headers: WebhookHeaders;
  /** The body exactly as received. Signatures cover these bytes; re-serialised JSON would not match. */
  body: Uint8Array;
}

export type WebhookProvider = 'stripe' | 'github' | 'shopify' | 'slack' | 'standard-webhooks' | 'hmac';

export interface VerifiedWebhook {
  provider: WebhookProvider;
  /** The provider's event or delivery id, when it sends one: the key to deduplicate on. */
  id: string | undefined;
  /** The provider's event type or topic, when it sends one. */
  type: string | undefined;
  /**
   * Whether `id` is covered by the signature. GitHub's and Shopify's ids travel in headers the HMAC
   * does not cover, so a replayed body can come with a fresh id: dedupe those on a body digest too.
   */
  idSigned: boolean;
  /** The signed timestamp (Unix ms), for schemes that sign one. */
  signedAtMs: number | undefined;
  /** Which of the configured secrets matched: watch it to know when an old secret can be removed. */
  secretIndex: number;
}

/**
 * Verifies one request synchronously (an HMAC over the body takes microseconds per kilobyte) and
 * throws a `JunctionError` with a code from ./errors.ts when it does not pass.
 */
export interface WebhookVerifier {
  readonly provider: WebhookProvider;
  verify(req: WebhookRequest): VerifiedWebhook;
}

/** Unix time in ms; injected so tests can move the clock. */
export type Clock = () => number;

export interface VerifierOptions {
  now?: Clock;
}
