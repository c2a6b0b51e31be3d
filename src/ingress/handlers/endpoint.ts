/**
 * The handler of a mounted endpoint (src/core/endpoint.ts; the event hub's webhook sources): checks
 * the method, gives the endpoint its raw body bounded by `maxBodyBytes`, and writes the Answer it
 * returns. A declared `Content-Length` past the limit is refused before a byte is read; a chunked
 * body is counted as it arrives and refused once past it (RFC 9110 §15.5.14, 413).
 */
import type { MountedEndpoint } from '../../core/endpoint.ts';
import { BadRequest, JunctionError, PayloadTooLarge } from '../../core/errors.ts';
import type { Context } from '../context.ts';
import { MethodNotAllowed } from '../errors.ts';
import type { Handler } from '../route.ts';
import { sendAnswer } from '../send.ts';

export function endpointHandler(endpoint: MountedEndpoint): Handler {
  const allow = endpoint.methods.join(', ');
  return {
    upstream: undefined,
    async handle(ctx, res, route, rt) {
      if (!endpoint.methods.includes(ctx.method)) {
        throw new JunctionError(MethodNotAllowed, `${ctx.method} is not allowed on ${ctx.path}`, {
          headers: { allow },
        });
      }
      const answer = await endpoint.handle({ ctx, body: () => readBounded(ctx, route.maxBodyBytes) });
      sendAnswer(ctx, res, answer, rt);
    },
  };
}

/**
 * Not `for await`: leaving that loop early destroys the request, and with it the socket, so the
 * client would see a reset instead of the 413. Past the limit the rest is read and dropped.
 */
function readBounded(ctx: Context, max: number): Promise<Buffer> {
  const declared = ctx.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    return Promise.reject(
      new JunctionError(PayloadTooLarge, `body of ${declared} bytes exceeds the limit of ${max}`),
    );
  }
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      ctx.bytesIn = size;
      if (over) return;
      if (size > max) {
        over = true;
        chunks.length = 0;
        reject(new JunctionError(PayloadTooLarge, `body exceeds the limit of ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    // The client left mid-body: nobody is waiting for an answer; the error only ends the handler.
    req.once('close', () => {
      if (!req.complete) reject(new JunctionError(BadRequest, 'the client left before the body ended'));
    });
    req.once('error', reject);
  });
}
