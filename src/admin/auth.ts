/**
 * Bearer-token auth for the admin API (RFC 6750). Compared as SHA-256 digests with
 * `timingSafeEqual`, so neither the token's content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { JunctionError } from '../core/errors.ts';
import { AdminUnauthorized } from './errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function adminAuth(token: string) {
  const expected = digest(token);
  return async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
    if (!m || !timingSafeEqual(digest(m[1]!), expected)) {
      // RFC 6750 §3: a 401 names the scheme, and the error when a token was sent.
      const challenge = m
        ? 'Bearer realm="junction-admin", error="invalid_token"'
        : 'Bearer realm="junction-admin"';
      throw new JunctionError(
        AdminUnauthorized,
        m ? 'the admin token is not valid' : 'send Authorization: Bearer <admin token>',
        {
          headers: { 'www-authenticate': challenge },
        },
      );
    }
  };
}
