/**
 * `core.negotiate` (Q29): a route that speaks JSON and XML. A client that accepts neither gets 406;
 * one that prefers XML gets the upstream's JSON converted (RFC 9110 §12.5.1, `Vary: Accept` so
 * caches keep the two apart). Conversion needs the whole body, so it is bounded by `maxBytes`.
 */
import { Readable } from 'node:stream';
import Type from 'typebox';
import { JunctionError, NotAcceptable } from '../../../core/errors.ts';
import { dataFormat } from '../../../core/negotiate.ts';
import { definePolicy } from '../../../core/policy.ts';
import { toXml } from '../../../core/xml.ts';
import { ResponseTooLarge } from '../../errors.ts';

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
        const isJson = /^application\/(?:[\w.+-]+\+)?json\b/i.test(type);
        const vary = res.headers.vary ? `${res.headers.vary}, accept` : 'accept';
        if (!isJson || res.body === null || dataFormat(ctx.headers.accept) !== 'xml') {
          return isJson ? { ...res, headers: { ...res.headers, vary } } : res;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          size += (chunk as Buffer).length;
          if (size > config.maxBytes) {
            res.body.destroy();
            throw new JunctionError(
              ResponseTooLarge,
              `JSON over ${config.maxBytes} bytes is not converted to XML`,
            );
          }
          chunks.push(chunk as Buffer);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          // Not JSON after all: hand it over untouched rather than fail the request.
          return { ...res, body: Readable.from([Buffer.from(text)]) };
        }
        const xml = Buffer.from(toXml(value, config.root));
        const headers: Record<string, string | string[]> = { ...res.headers, vary };
        headers['content-type'] = 'application/xml; charset=utf-8';
        delete headers['content-length'];
        delete headers['content-encoding'];
        delete headers.etag; // a different representation must not share the JSON's validator
        headers['content-length'] = String(xml.length);
        return { status: res.status, headers, body: Readable.from([xml]) };
      },
    };
  },
});
