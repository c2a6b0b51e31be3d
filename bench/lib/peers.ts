/**
 * The peers: what stands between the load generator and the upstream. Each group is one process
 * (Junction serves two peers, `plain` and `observed`, from one process and one config) started only
 * while its peers are measured, so two peers never compete for the cores.
 */
import { randomBytes } from 'node:crypto';
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
  'junction-api-key',
  'junction-key-limited',
] as const;
export type PeerName = (typeof PEERS)[number];

export interface Target {
  peer: PeerName;
  url: string;
  /** Sent with every request to this peer, the warmup and the first check included. */
  headers?: Record<string, string>;
  /** A response header the first check must see (proof that the route's policy ran). */
  expectHeader?: string;
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

/** The default policies off: the routes below measure one policy each on top of the proxy core. */
const noDefaults = { 'core.access-log': false, 'core.metrics': false, 'core.tracing': false };

const junction: PeerGroup = {
  name: 'junction',
  peers: [
    'junction-plain',
    'junction-observed',
    'junction-resilient',
    'junction-cached',
    'junction-jwt',
    'junction-api-key',
    'junction-key-limited',
  ],
  async start(tmp, upstream) {
    const jwt = await benchJwt();
    const adminToken = randomBytes(24).toString('hex');
    const running = await startJunction({
      tmp,
      // info, so the observed route's access log is really written (to a file, as in production).
      logLevel: 'info',
      config: {
        // For issuing the API key of the api-key routes through the admin API, once it is up.
        admin: { token: adminToken },
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
          {
            // auth.api-key with its defaults (x-api-key header, looked-up keys cached 5 s); every
            // request carries the same valid key, issued in the gateway's store below.
            name: 'api-key',
            match: { path: '/api-key/*' },
            proxy: { upstream: 'bench', stripPrefix: '/api-key' },
            policies: { ...noDefaults, 'auth.api-key': {} },
          },
          {
            // The same plus an in-memory rate limit per key, too high ever to refuse: Kong's
            // "key-auth + rate-limiting" configuration.
            name: 'key-limited',
            match: { path: '/key-limited/*' },
            proxy: { upstream: 'bench', stripPrefix: '/key-limited' },
            policies: {
              ...noDefaults,
              'auth.api-key': {},
              'core.rate-limit': {
                limits: [{ limit: 1_000_000_000, windowMs: 1000, key: 'principal' }],
                backend: { kind: 'memory' },
              },
            },
          },
        ],
      },
    });
    let apiKey: string;
    try {
      apiKey = await issueBenchKey(running.adminOrigin, adminToken);
    } catch (err) {
      await running.child.stop();
      throw err;
    }
    const o = running.proxyOrigin;
    const targets: Target[] = [
      { peer: 'junction-plain', url: `${o}/plain/x` },
      { peer: 'junction-observed', url: `${o}/observed/x` },
      { peer: 'junction-resilient', url: `${o}/resilient/x` },
      { peer: 'junction-cached', url: `${o}/cached/cacheable` },
      { peer: 'junction-jwt', url: `${o}/jwt/x`, headers: { authorization: `Bearer ${jwt.token}` } },
      { peer: 'junction-api-key', url: `${o}/api-key/x`, headers: { 'x-api-key': apiKey } },
      {
        peer: 'junction-key-limited',
        url: `${o}/key-limited/x`,
        headers: { 'x-api-key': apiKey },
        expectHeader: 'ratelimit',
      },
    ];
    return {
      targets,
      info: {},
      counters: () => ({ logBytes: running.logBytes() }),
      stop: () => running.child.stop(),
    };
  },
};

/** Issues an API key (no scopes, no roles) through `POST /admin/v1/keys`; answers its secret. */
async function issueBenchKey(adminOrigin: string, adminToken: string): Promise<string> {
  const res = await fetch(`${adminOrigin}/admin/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json().catch(() => ({}))) as { secret?: unknown };
  if (res.status !== 201 || typeof body.secret !== 'string')
    throw new Error(`POST /admin/v1/keys answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.secret;
}

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
