/**
 * Reading the request body before the handler does, without taking it away from the handler.
 *
 * The fingerprint needs the whole body before the request may go upstream (a reused key with a
 * different body must be refused, not forwarded), but the proxy handler streams `ctx.req` itself and
 * the policy interface has no way to hand it another body. So the body is read in paused mode and,
 * once the message is complete (`req.complete`), pushed back with `unshift()` in the same tick: the
 * stream has more data again, so `'end'` is not emitted, and whoever reads `req` next — a pipe, an
 * async iterator, undici — gets the same bytes and then the end
 * (https://nodejs.org/api/stream.html#readableunshiftchunk-encoding: allowed until `'end'`).
 */
import type { IncomingMessage } from 'node:http';

export type Buffered = { body: Buffer } | { tooLarge: true };

/** Whether the request has a body at all (RFC 9112 §6.1–6.3). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads the whole body, up to `maxBytes`, and leaves it readable again. Past `maxBytes` it stops
 * reading, puts back what it read and reports `tooLarge`.
 * @example
 * const read = await bufferBody(ctx.req, 1 << 20);
 * if ('body' in read) hash(read.body); // ctx.req still yields the same body to the handler
 */
export function bufferBody(req: IncomingMessage, maxBytes: number): Promise<Buffered> {
  if (req.readableEnded) return Promise.resolve({ body: Buffer.alloc(0) });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffered) => {
      req.off('readable', onReadable);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (size > 0) req.unshift(Buffer.concat(chunks, size));
      resolve(result);
    };
    const onReadable = () => {
      for (let chunk = req.read() as Buffer | null; chunk !== null; chunk = req.read() as Buffer | null) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > maxBytes) {
          finish({ tooLarge: true });
          return;
        }
      }
      if (req.complete) finish({ body: Buffer.concat(chunks, size) });
    };
    // Only reached when nothing was read (an empty chunked body): then there is nothing to put back.
    const onEnd = () => finish({ body: Buffer.alloc(0) });
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('client closed the connection'));
    };
    const cleanup = () => {
      req.off('readable', onReadable);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('readable', onReadable);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}
