/**
 * `core.negotiate` (Q29): a route that speaks JSON and XML. A client that accepts neither gets 406;
 * one that prefers XML gets the upstream's JSON converted (RFC 9110 §12.5.1, `Vary: Accept` so
 * caches keep the two apart). Conversion needs the whole body, so it is bounded by `maxBytes`.
 */
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, type ZlibOptions } from 'node:zlib';
import Type from 'typebox';
import { JunctionError, NotAcceptable } from '../../../core/errors.ts';
import { dataFormat } from '../../../core/negotiate.ts';
import { definePolicy } from '../../../core/policy.ts';
import { toXml } from '../../../core/xml.ts';
import { ResponseTooLarge } from '../../errors.ts';

type Decoder = (body: Buffer, maxBytes: number) => Promise<Buffer>;

function decoder(fn: (buf: Buffer, options: ZlibOptions) => Promise<Buffer>): Decoder {
  return (body, maxBytes) => fn(body, { maxOutputLength: maxBytes });
}

/** Content codings the conversion can read (RFC 9110 §8.4.1); the XML goes out uncoded. */
const DECODERS: Record<string, Decoder | undefined> = {
  identity: async (body) => body,
  gzip: decoder(promisify(gunzip)),
  'x-gzip': decoder(promisify(gunzip)),
  deflate: decoder(promisify(inflate)),
  br: decoder(promisify(brotliDecompress)),
};

function tooLarge(maxBytes: number): JunctionError {
  return new JunctionError(ResponseTooLarge, `JSON over ${maxBytes} bytes is not converted to XML`);
}

/** The upstream's fields for the XML form: new type; no length, coding or validator of the JSON. */
function xmlHeaders(
  upstream: Record<string, string | string[]>,
  vary: string,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { ...upstream, vary };
  headers['content-type'] = 'application/xml; charset=utf-8';
  delete headers['content-length'];
  delete headers['content-encoding'];
  delete headers.etag; // a different representation must not share the JSON's validator
  return headers;
}

export const negotiate = definePolicy({
  name: 'core.negotiate',
  description:
    'JSON or XML by Accept; converts upstream JSON to XML for clients that prefer XML; 406 otherwise',
  schema: Type.Object(
    {
      root: Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$',
        default: 'response',
        description: 'XML root element',
      }),
      maxBytes: Type.Integer({ minimum: 1, default: 1_048_576, description: 'Largest JSON body converted' }),
    },
    { additionalProperties: false },
  ),
  create(config) {
    return {
      onRequest(ctx) {
        if (dataFormat(ctx.headers.accept) === undefined) {
          throw new JunctionError(
            NotAcceptable,
            'this resource is available as application/json or application/xml',
            {
              extensions: { available: ['application/json', 'application/xml'] },
            },
          );
        }
        return undefined;
      },
      async onResponse(ctx, res) {
        const type = String(res.headers['content-type'] ?? '');
        if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) return res;
        const vary = res.headers.vary ? `${res.headers.vary}, accept` : 'accept';
        const relayed = { ...res, headers: { ...res.headers, vary } };
        if (res.body === null || dataFormat(ctx.headers.accept) !== 'xml') return relayed;
        const encoding = String(res.headers['content-encoding'] ?? 'identity')
          .trim()
          .toLowerCase();
        const decode = DECODERS[encoding];
        // A coding we cannot undo (zstd, a list of codings): relay the JSON as it is.
        if (decode === undefined) return relayed;
        if (ctx.method === 'HEAD') {
          // No body to convert: the fields a GET would get, without the length (RFC 9110 §9.3.2).
          return { ...res, headers: xmlHeaders(res.headers, vary) };
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          size += (chunk as Buffer).length;
          if (size > config.maxBytes) {
            res.body.destroy();
            throw tooLarge(config.maxBytes);
          }
          chunks.push(chunk as Buffer);
        }
        const raw = Buffer.concat(chunks);
        let value: unknown;
        try {
          // Bounded like the encoded body, so a small gzip cannot expand without limit.
          const decoded = await decode(raw, config.maxBytes);
          value = JSON.parse(decoded.toString('utf8'));
        } catch (err) {
          if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(config.maxBytes);
          // Not JSON (or not the coding it claims) after all: hand over the very bytes received.
          return { ...relayed, body: Readable.from([raw]) };
        }
        const xml = Buffer.from(toXml(value, config.root));
        const headers = xmlHeaders(res.headers, vary);
        headers['content-length'] = String(xml.length);
        return { status: res.status, headers, body: Readable.from([xml]) };
      },
    };
  },
});
