/**
 * Where a login returns to. Only a path on this gateway is accepted: no scheme, no host, no
 * protocol-relative `//evil.example`, no backslash (browsers read `/\evil.example` as `//`), no
 * control characters — otherwise the login endpoint is an open redirector (RFC 9700 §4.11, OWASP
 * Unvalidated Redirects and Forwards Cheat Sheet). The path is then resolved against a placeholder
 * origin and must still be on it, which catches what the pattern alone might miss.
 */
const SAFE = /^\/(?![/\\])/;
const MAX = 2048;
const PLACEHOLDER = 'https://gateway.invalid';

/** The normalized path (with query), or undefined when `input` is not a same-origin path. */
export function safeReturnPath(input: string): string | undefined {
  if (input.length > MAX || !SAFE.test(input)) return undefined;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    // Controls, space and backslash: header splitting, and what browsers strip or read as `/`.
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return undefined;
  }
  let url: URL;
  try {
    url = new URL(input, PLACEHOLDER);
  } catch {
    return undefined;
  }
  if (url.origin !== PLACEHOLDER) return undefined;
  // Dot segments can collapse into `//` (`/.//evil.example`), which a browser reads as a host.
  const path = url.pathname + url.search;
  return path.startsWith('//') ? undefined : path;
}
