import type { ConnectionOptions } from 'node:tls';
import { Client } from 'undici';
import type { Probe } from './active-health.ts';

/**
 * `GET <path>` on each target over a small dedicated client per target, not the target's pool:
 * checks neither queue behind busy pool connections (a saturated pool is not an unhealthy target)
 * nor show up in the pool's connection and request counts. Keep-alive as undici sets it; the
 * client's own idle timeout (4 s) is below the default interval, so most checks also prove that a
 * new connection can be made.
 *
 * @example
 * const http = httpProbe('/health', 2000);
 * const status = await http.probe(target, AbortSignal.timeout(2000));
 * await http.close();
 */
export function httpProbe<T extends { origin: string }>(
  path: string,
  timeoutMs: number,
  /** The upstream's TLS settings (CA, client certificate): a check must pass the handshake requests pass. */
  tls?: ConnectionOptions,
): { probe: Probe<T>; close(): Promise<void> } {
  const clients = new Map<string, Client>();
  let closed = false;
  return {
    async probe(target, signal) {
      if (closed) throw new Error('health checks stopped');
      let client = clients.get(target.origin);
      if (client === undefined) {
        client = new Client(target.origin, {
          connect: { ...tls, timeout: timeoutMs },
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        clients.set(target.origin, client);
      }
      const res = await client.request({
        path,
        method: 'GET',
        headers: { 'user-agent': 'junction-health-check' },
        signal,
      });
      await res.body.dump();
      return res.statusCode;
    },
    async close() {
      closed = true;
      await Promise.all([...clients.values()].map((c) => c.destroy().catch(() => {})));
      clients.clear();
    },
  };
}
