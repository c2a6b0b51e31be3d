/**
 * Any HMAC scheme a sender documents: which header, hash, encoding and prefix, and what is signed,
 * as a template over the raw body and header values (`{timestamp}.{body}`). The template is parsed
 * once, when the verifier is built; a timestamp header is only worth checking when it is signed, so
 * naming one the template leaves out is refused.
 */
import { JunctionError } from '../../core/errors.ts';
import { DIGEST_BYTES, decodeSignature, hmac, matchingKey } from './crypto.ts';
import { WebhookSignatureInvalid, WebhookSignatureMalformed } from './errors.ts';
import {
  entries,
  MAX_SHORT_HEADER_CHARS,
  MAX_SIGNATURE_HEADER_CHARS,
  optionalHeader,
  requiredHeader,
} from './headers.ts';
import type { HmacVerifyConfig } from './schema.ts';
import { keyring } from './secrets.ts';
import { checkTolerance, parseUnixSeconds } from './timestamp.ts';
import type { VerifierOptions, WebhookVerifier } from './types.ts';

type Segment = string | { field: 'body' | 'timestamp' | 'id' };

/** `{timestamp}.{body}` → [{timestamp}, '.', {body}]: fields and the literal text between them. */
export function parseTemplate(template: string): Segment[] {
  const segments: Segment[] = [];
  for (const [i, part] of template.split(/\{(body|timestamp|id)\}/).entries()) {
    if (i % 2 === 1) segments.push({ field: part as 'body' | 'timestamp' | 'id' });
    else if (part !== '') segments.push(part);
  }
  return segments;
}

/** Throws an Error (a config issue at load) when the template and the headers do not fit together. */
function checkTemplate(config: HmacVerifyConfig, segments: Segment[]): void {
  const count = (field: string) => segments.filter((s) => typeof s !== 'string' && s.field === field).length;
  if (count('body') !== 1) throw new Error('signedContent must contain {body} exactly once');
  if (count('timestamp') > 0 && config.timestampHeader === undefined)
    throw new Error('signedContent uses {timestamp}: set timestampHeader');
  if (count('timestamp') === 0 && config.timestampHeader !== undefined)
    throw new Error(
      'timestampHeader is set but signedContent leaves {timestamp} out: an unsigned timestamp protects nothing',
    );
  if (count('id') > 0 && config.idHeader === undefined)
    throw new Error('signedContent uses {id}: set idHeader');
}

function secretKey(secret: string, encoding: HmacVerifyConfig['secretEncoding']): Buffer | string {
  if (encoding === 'utf8') return Buffer.from(secret, 'utf8');
  const ok =
    encoding === 'hex'
      ? /^(?:[0-9A-Fa-f]{2})+$/.test(secret)
      : /^[A-Za-z0-9+/]+={0,2}$/.test(secret) && secret.length % 4 !== 1;
  return ok ? Buffer.from(secret, encoding) : `it is not ${encoding}`;
}

/**
 * @example
 * const v = hmacVerifier(Value.Default(hmacVerifySchema, {
 *   provider: 'hmac', secrets: [process.env.PARTNER_SECRET], header: 'x-partner-signature',
 *   prefix: 'sha256=', signedContent: '{timestamp}.{body}', timestampHeader: 'x-partner-timestamp',
 * }) as HmacVerifyConfig);
 */
export function hmacVerifier(config: HmacVerifyConfig, options: VerifierOptions = {}): WebhookVerifier {
  const segments = parseTemplate(config.signedContent);
  checkTemplate(config, segments);
  const ring = keyring(config.secrets, 'hmac', (secret) => secretKey(secret, config.secretEncoding));
  const bytes = DIGEST_BYTES[config.algorithm];
  const idSigned = segments.some((s) => typeof s !== 'string' && s.field === 'id');
  const now = options.now ?? Date.now;
  const label = config.header;

  return {
    provider: 'hmac',
    verify({ headers, body }) {
      const value = requiredHeader(headers, label, MAX_SIGNATURE_HEADER_CHARS);
      if (!value.startsWith(config.prefix))
        throw new JunctionError(WebhookSignatureMalformed, `${label} must start with ${config.prefix}`);
      const list = config.separator === undefined ? [value] : entries(value, config.separator, label);
      const candidates: Buffer[] = [];
      for (const entry of list) {
        let text = entry.trim();
        if (config.prefix !== '' && text.startsWith(config.prefix)) text = text.slice(config.prefix.length);
        const sig = decodeSignature(text, config.encoding, bytes);
        if (sig) candidates.push(sig);
      }
      let ts: string | undefined;
      let signedAtS: number | undefined;
      if (config.timestampHeader !== undefined) {
        ts = requiredHeader(headers, config.timestampHeader, MAX_SHORT_HEADER_CHARS);
        signedAtS = parseUnixSeconds(ts, config.timestampHeader);
        checkTolerance(signedAtS, config.toleranceS, now(), config.timestampHeader);
      }
      const id =
        config.idHeader === undefined
          ? undefined
          : idSigned
            ? requiredHeader(headers, config.idHeader, MAX_SHORT_HEADER_CHARS)
            : optionalHeader(headers, config.idHeader, MAX_SHORT_HEADER_CHARS);
      const parts = segments.map((s) =>
        typeof s === 'string' ? s : s.field === 'body' ? body : s.field === 'timestamp' ? ts! : id!,
      );
      const i = matchingKey(ring.keys, (key) => hmac(config.algorithm, key, parts), candidates);
      if (i < 0)
        throw new JunctionError(WebhookSignatureInvalid, `${label} does not match the source's secrets`);
      return {
        provider: 'hmac',
        id,
        type:
          config.typeHeader === undefined
            ? undefined
            : optionalHeader(headers, config.typeHeader, MAX_SHORT_HEADER_CHARS),
        idSigned: id !== undefined && idSigned,
        signedAtMs: signedAtS === undefined ? undefined : signedAtS * 1000,
        secretIndex: ring.indices[i]!,
      };
    },
  };
}
