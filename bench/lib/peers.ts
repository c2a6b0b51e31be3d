/**
 * The peers: what stands between the load generator and the upstream. Each group is one process
 * (Junction serves two peers, `plain` and `observed`, from one process and one config) started only
 * while its peers are measured, so two peers never compete for the cores.
 */
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { Child } from './children.ts';
import { ROOT, startJunction } from './junction.ts';
import { nginxVersion, startNginx } from './nginx.ts';

export const PEERS = [
  'direct',
  'fastify-http-proxy',
  'nginx',
  'junction-plain',
  'junction-observed',
  'junction-resilient',
  'junction-cached',
  'junction-jwt',
] as const;
export type PeerName = (typeof PEERS)[number];

export interface Target {
  peer: PeerName;
  url: string;
  /** Sent with every request to this peer, the warmup and the first check included. */
  headers?: Record<string, string>;
}

export interface RunningGroup {
  targets: Target[];
  /** Facts about the peer worth keeping with the results (versions, log file). */
  info: Record<string, string>;
  /** Counters read before and after each measured run; the results keep the difference. */
  counters?: () => Record<string, number>;
  stop(): Promise<void>;
}

export interface PeerGroup {
  name: string;
  peers: PeerName[];
  /** Why this group is skipped on this machine (a tool not installed), or undefined. */
  skip?: () => string | undefined;
  start(tmp: string, upstream: string): Promise<RunningGroup>;
}

const direct: PeerGroup = {
  name: 'direct',
  peers: ['direct'],
  async start(_tmp, upstream) {
    return { targets: [{ peer: 'direct', url: `${upstream}/x` }], info: {}, stop: async () => {} };
  },
};

const fastify: PeerGroup = {
  name: 'fastify-http-proxy',
  peers: ['fastify-http-proxy'],
  async start(_tmp, upstream) {
    const child = new Child('fastify-http-proxy', process.execPath, ['bench/fastify-peer.ts', upstream], {
      cwd: ROOT,
    });
    try {
      const port = await child.port();
      return {
        targets: [{ peer: 'fastify-http-proxy', url: `http://127.0.0.1:${port}/x` }],
        info: {},
        stop: () => child.stop(),
      };
    } catch (err) {
      await child.stop();
      throw err;
    }
  },
};

const nginx: PeerGroup = {
  name: 'nginx',
  peers: ['nginx'],
  skip: () =>
    nginxVersion() === undefined ? 'nginx is not on PATH (apt-get install nginx-light)' : undefined,
  async start(tmp, upstream) {
    const running = await startNginx(tmp, upstream);
    return {
      targets: [{ peer: 'nginx', url: `${running.origin}/x` }],
      info: { version: running.version },
      stop: () => running.child.stop(),
    };
  },
};

const junction: PeerGroup = {
  name: 'junction',
  peers: ['junction-plain', 'junction-observed', 'junction-resilient', 'junction-cached', 'junction-jwt'],
  async start(tmp, upstream) {
    const jwt = await benchJwt();
    const running = await startJunction({
      tmp,
      // info, so the observed route's access log is really written (to a file, as in production).
      logLevel: 'info',
      config: {
        upstreams: {
          bench: { targets: [upstream], pool: { connections: 64 } },
          guarded: {
            targets: [upstream],
            pool: { connections: 64 },
            resilience: {
              timeoutMs: 5_000,
              retry: { attempts: 3, perTryTimeoutMs: 2_000 },
              circuitBreaker: { mode: 'sampling' },
              bulkhead: { maxConcurrent: 256, maxQueue: 256 },
            },
          },
        },
        routes: [
          {
            name: 'plain',
            match: { path: '/plain/*' },
            proxy: { upstream: 'bench', stripPrefix: '/plain' },
            policies: { 'core.access-log': false, 'core.metrics': false, 'core.tracing': false },
          },
          {
            name: 'observed',
            match: { path: '/observed/*' },
            proxy: { upstream: 'bench', stripPrefix: '/observed' },
          },
          {
            // The whole resilience stack on a healthy upstream: what it costs when nothing fails.
            name: 'resilient',
            match: { path: '/resilient/*' },
            proxy: { upstream: 'guarded', stripPrefix: '/resilient' },
            policies: { 'core.access-log': false, 'core.metrics': false, 'core.tracing': false },
          },
          {
            // Served from the response cache after the first request (the upstream marks /cacheable
            // paths cacheable).
            name: 'cached',
            match: { path: '/cached/*' },
            proxy: { upstream: 'bench', stripPrefix: '/cached' },
            policies: {
              'core.access-log': false,
              'core.metrics': false,
              'core.tracing': false,
              'core.cache': { cacheStatus: { style: 'none' } },
            },
          },
          {
            // auth.jwt with a static RS256 key; every request carries the same valid token (the
            // verified-token cache's best case, as for a client reusing its access token).
            name: 'jwt',
            match: { path: '/jwt/*' },
            proxy: { upstream: 'bench', stripPrefix: '/jwt' },
            policies: {
              'core.access-log': false,
              'core.metrics': false,
              'core.tracing': false,
              'auth.jwt': jwt.policy,
            },
          },
        ],
      },
    });
    const o = running.proxyOrigin;
    return {
      targets: [
        { peer: 'junction-plain', url: `${o}/plain/x` },
        { peer: 'junction-observed', url: `${o}/observed/x` },
        { peer: 'junction-resilient', url: `${o}/resilient/x` },
        { peer: 'junction-cached', url: `${o}/cached/cacheable` },
        { peer: 'junction-jwt', url: `${o}/jwt/x`, headers: { authorization: `Bearer ${jwt.token}` } },
      ],
      info: {},
      counters: () => ({ logBytes: running.logBytes() }),
      stop: () => running.child.stop(),
    };
  },
};

/** A static RS256 key for the `junction-jwt` route and a token for it valid for a day. */
async function benchJwt() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const token = await new SignJWT({ sub: 'bench', roles: ['bench'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer('https://bench.junction')
    .setAudience('bench')
    .setIssuedAt()
    .setExpirationTime('24h')
    .sign(privateKey);
  const policy = {
    keys: [{ kid: 'bench', alg: 'RS256', pem: await exportSPKI(publicKey) }],
    algorithms: ['RS256'],
    issuer: 'https://bench.junction',
    audience: 'bench',
    forward: { claims: { sub: 'x-junction-principal' } },
  };
  return { token, policy };
}

export const GROUPS: PeerGroup[] = [direct, fastify, nginx, junction];
