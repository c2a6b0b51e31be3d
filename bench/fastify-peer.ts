/**
 * The Node peer: Fastify 5 with @fastify/http-proxy forwarding every path to the upstream, logger
 * off, as its README configures it. Its pool is sized like Junction's and nginx's (64 sockets) so
 * the comparison is of the proxies, not of their pool sizes.
 *
 * Usage: node bench/fastify-peer.ts <upstream origin>   (prints {"port":N} once listening)
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const upstream = process.argv[2];
if (upstream === undefined) throw new Error('usage: fastify-peer.ts <upstream origin>');

const app = Fastify({ logger: false });
await app.register(proxy, { upstream, prefix: '/', undici: { connections: 64 } });
await app.listen({ host: '127.0.0.1', port: 0 });

const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no address');
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);

process.on('SIGTERM', () => process.exit(0));
