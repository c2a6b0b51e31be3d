/** Where a route finds the token, and how it keeps it from the upstream when asked to. */
import type { IncomingHttpHeaders } from 'node:http';
import { parseCookie } from 'cookie';
import type { JwtConfig } from './schema.ts';

/** RFC 6750 §2.1: `Bearer` (case-insensitive, RFC 9110 §11.1) SP b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i;

export interface TokenSource {
  /** The token, or undefined when the request carries none. */
  read(headers: IncomingHttpHeaders): string | undefined;
  /** Upstream header overrides that remove the token (see ForwardInput.extra: `''` drops). */
  strip(headers: IncomingHttpHeaders): Record<string, string>;
}

export function tokenSource(token: JwtConfig['token']): TokenSource {
  if ('cookie' in token) {
    const name = token.cookie;
    return {
      read(headers) {
        if (headers.cookie === undefined) return undefined;
        return parseCookie(headers.cookie)[name] || undefined;
      },
      strip(headers): Record<string, string> {
        if (headers.cookie === undefined) return {};
        const rest = headers.cookie
          .split(';')
          .filter((pair) => pair.split('=', 1)[0]!.trim() !== name)
          .map((pair) => pair.trim())
          .join('; ');
        return { cookie: rest };
      },
    };
  }
  const header = token.header.toLowerCase();
  return {
    read(headers) {
      const raw = headers[header];
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (!value) return undefined;
      const bearer = BEARER.exec(value);
      if (bearer) return bearer[1];
      // Authorization with another scheme (Basic, …) carries no bearer token; other headers may
      // carry the bare token.
      return header === 'authorization' || value.includes(' ') ? undefined : value.trim();
    },
    strip: () => ({ [header]: '' }),
  };
}
