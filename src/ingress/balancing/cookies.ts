/** Reading one cookie and writing the affinity cookie (RFC 6265). */

/**
 * The value of cookie `name` in a `Cookie` header (RFC 6265 §4.2.1: `a=1; b=2`), DQUOTEs removed;
 * the first one wins when a name repeats (§5.4 orders longer paths first, and they are the more
 * specific).
 */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  // HTTP/2 clients may send one `cookie` field per pair (RFC 9113 §8.2.3).
  const text = Array.isArray(header) ? header.join('; ') : header;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(';', start);
    if (end === -1) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq !== -1 && eq < end && text.slice(start, eq).trim() === name) {
      const value = text.slice(eq + 1, end).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
    start = end + 1;
  }
  return undefined;
}

export interface CookieOptions {
  maxAgeS?: number;
  secure?: boolean;
}

/**
 * A `Set-Cookie` value (RFC 6265 §4.1). HttpOnly: scripts have no business with it; SameSite=Lax
 * (RFC 6265bis §5.4.7) keeps it on top-level navigations; Path=/ so every route of the host shares
 * the affinity.
 */
export function setCookie(name: string, value: string, options: CookieOptions = {}): string {
  let out = `${name}=${value}; Path=/; HttpOnly; SameSite=Lax`;
  if (options.maxAgeS !== undefined) out += `; Max-Age=${options.maxAgeS}`;
  if (options.secure === true) out += '; Secure';
  return out;
}
