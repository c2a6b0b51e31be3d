/**
 * A TCP proxy a test can stop and start again on the same port: stands between the gateway and a
 * real server (Redis) to make it vanish and come back without touching the server itself.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { claimPort } from './ports.ts';

export interface TcpProxy {
  port: number;
  /** Closes the listener and cuts every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export async function startTcpProxy(
  t: TestContext,
  targetPort: number,
  host = '127.0.0.1',
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  // Claimed rather than 0: between stop() and start() another test file's listen(0) could otherwise
  // be given the port, and start() would fail with EADDRINUSE.
  const port = await claimPort();
  const listen = async () => {
    const s = createServer((client) => {
      const upstream = connect(targetPort, host);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, resolve);
    });
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  t.after(stop);
  return {
    get port() {
      return port;
    },
    stop,
    start: listen,
  };
}
