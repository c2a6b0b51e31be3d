/**
 * Just enough of a browser for sign-in tests: `fetch` with manual redirects and a cookie jar per
 * host:port. It keeps `Secure` cookies over http (the tests run on 127.0.0.1 without TLS; a real
 * browser keeps them only from https or localhost) and honours `Max-Age=0` deletions.
 */
import { parseSetCookie } from 'cookie';

export class Browser {
  readonly jar = new Map<string, Map<string, string>>();

  cookies(url: string): Map<string, string> {
    const host = new URL(url).host;
    let m = this.jar.get(host);
    if (m === undefined) {
      m = new Map();
      this.jar.set(host, m);
    }
    return m;
  }

  cookie(url: string, name: string): string | undefined {
    return this.cookies(url).get(name);
  }

  setCookie(url: string, name: string, value: string | undefined): void {
    if (value === undefined) this.cookies(url).delete(name);
    else this.cookies(url).set(name, value);
  }

  /** One request; the response's cookies are stored, redirects are not followed. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const jar = this.cookies(url);
    const headers = new Headers(init.headers);
    if (jar.size > 0 && !headers.has('cookie')) {
      headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const c = parseSetCookie(line);
      if (c.maxAge === 0 || c.value === '') jar.delete(c.name);
      else jar.set(c.name, c.value ?? '');
    }
    return res;
  }

  /** Follows redirects from `url` until one points where `stop` says; returns that URL unvisited. */
  async followUntil(url: string, stop: (u: string) => boolean, max = 10): Promise<string> {
    let next = url;
    for (let i = 0; i < max; i++) {
      if (stop(next)) return next;
      const res = await this.fetch(next, { headers: { accept: 'text/html' } });
      await res.arrayBuffer();
      const location = res.headers.get('location');
      if (location === null) throw new Error(`${next} answered ${res.status} without a redirect`);
      next = new URL(location, next).href;
    }
    throw new Error(`still redirecting after ${max} hops from ${url}`);
  }
}
