/**
 * A running gateway: config, store, services, the proxy and admin listeners, reload and shutdown,
 * put together. `junction start` is this plus signal handling; tests and the demo call it directly.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { type DestinationStream, pino } from 'pino';
import { buildAdminApp } from '../admin/app.ts';
import type { ReloadOutcome } from '../admin/routes/config.ts';
import { configReloadEntry, lifecycleEntry, StoreAuditSink } from '../audit/index.ts';
import { type LoadedConfig, loadConfigFile } from '../config/loader.ts';
import { watchConfig } from '../config/watch.ts';
import { noAudit } from '../core/audit.ts';
import { isJunctionError } from '../core/errors.ts';
import { Snowflake } from '../core/ids.ts';
import { createLogger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import type { Services } from '../core/services.ts';
import { createSpanExporter } from '../core/tracing.ts';
import { acknowledgesEvents, type EventHub, startEventHub } from '../events/index.ts';
import {
  closePacing,
  closePolicies,
  closeUpstreams,
  compileRuntime,
  ProxyServer,
  providePolicyStores,
  type Runtime,
  routeSummaries,
  upstreamSummaries,
} from '../ingress/index.ts';
import { listenerTls } from '../ingress/tls.ts';
import { openStore, resolveStoreTarget, type Store } from '../store/index.ts';
import {
  createEndpointLimits,
  createEndpointResolver,
  createOperationalEvents,
  localKey,
  redisEndpointPacing,
  startPurgeTimer,
  withLocalKey,
} from '../webhooks/index.ts';
import { VERSION } from './version.ts';

export interface GatewayOptions {
  configFile: string;
  env?: NodeJS.ProcessEnv;
  /** Where logs go (tests read them); stdout by default. */
  logDestination?: DestinationStream;
  /** Overrides the listeners' ports (tests use 0). */
  ports?: { proxy?: number; admin?: number };
}

export interface Gateway {
  proxyUrl: string;
  adminUrl: string;
  adminToken: string;
  services: Services;
  store: Store;
  server: ProxyServer;
  reload(by?: string): Promise<ReloadOutcome>;
  /** Drains in-flight requests (bounded by `shutdown.drainTimeoutMs`) and releases everything. */
  close(): Promise<{ drained: boolean }>;
}

const NODE_LEASE_TTL_MS = 30_000;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const env = options.env ?? process.env;
  let loaded: LoadedConfig = loadConfigFile(options.configFile, env);
  const { config } = loaded;
  const destination = options.logDestination ?? pino.destination({ dest: 1, sync: false });
  const logger = createLogger({ level: config.observability.logLevel, destination });
  // What the gateway acknowledges is on disk (DESIGN.md "Promises"): inbound events, outbound messages
  // sent through the admin API (created at run time, so no config tells whether there will be any),
  // idempotency records. SQLite therefore syncs every commit by default (FULL; NORMAL survives a crash
  // of the process, not of the machine); an event source forces FULL (acknowledgesEvents). See
  // docs/decisions.md "SQLite syncs every commit".
  const synchronous = acknowledgesEvents(config.events) ? 'FULL' : config.store.sqliteSynchronous;
  const store = await openStore({ url: env.JUNCTION_DATABASE_URL || config.store.url, env, synchronous });
  if (config.store.migrate === 'auto') await store.migrate();

  const instanceId = randomUUID();
  const fixedNodeId = config.node.id === 'auto' ? undefined : config.node.id;
  const nodeId = fixedNodeId ?? (await store.nodes.lease(instanceId, NODE_LEASE_TTL_MS));
  const services: Services = {
    logger: logger.child({ node: nodeId }),
    accessLogger: createLogger({ level: config.observability.logLevel, destination, redact: false }).child({
      node: nodeId,
    }),
    metrics: createMetrics(),
    ids: new Snowflake({ nodeId }),
    audit: noAudit,
    redisUrl: env.JUNCTION_REDIS_URL || config.redis.url,
    spans: config.observability.otlp
      ? createSpanExporter({ ...config.observability.otlp, serviceName: config.observability.serviceName })
      : undefined,
  };
  // Q50: the store-backed audit log replaces the no-op; release() flushes it before the store closes.
  const audit = new StoreAuditSink({
    repository: store.auditLog,
    ids: () => services.ids,
    logger: services.logger,
    registry: services.metrics.registry,
    settings: () => loaded.config.audit,
  });
  services.audit = audit;
  providePolicyStores(services, store);
  const shardDirectory = {
    lookup: async (route: string, key: string) => (await store.shards.get(route, key))?.upstream,
  };
  const heartbeat = fixedNodeId === undefined ? keepLease(store, services, instanceId, nodeId) : undefined;

  const adminToken = env.JUNCTION_ADMIN_TOKEN || config.admin.token || randomBytes(24).toString('base64url');
  if (!env.JUNCTION_ADMIN_TOKEN && !config.admin.token && config.admin.tokens.length === 0) {
    // The random token is never shown (secrets stay out of logs): say why every admin call gets 401.
    services.logger.warn(
      'no admin token configured (admin.token or JUNCTION_ADMIN_TOKEN): the admin API is locked with a random one',
    );
  }
  // Outbound webhooks (docs/webhooks-outbound.md): the delivery worker sends `ep:` deliveries through
  // the endpoint resolver; the purge removes what was deleted long ago and old payloads, hourly.
  // Endpoint secrets are sealed at rest: with webhooks.encryptionKey, else (SQLite) with the key file
  // beside the database (src/webhooks/local-key.ts).
  const fileKey = localKeyOf(store, env.JUNCTION_DATABASE_URL || config.store.url, env);
  const webhookSettings = () => withLocalKey(loaded.config.webhooks, fileKey);
  // Endpoint rate limits are shared by every node through Redis when there is one.
  const sharedRates = services.redisUrl ? redisEndpointPacing(services.redisUrl, services.logger) : undefined;
  const resolver = createEndpointResolver({
    store,
    services,
    settings: webhookSettings,
    limits: createEndpointLimits(sharedRates),
    sockets: () => loaded.config.events.worker.concurrency,
    // Parked deliveries of a full endpoint made due when a place frees: the worker claims them now.
    wake: () => hub?.notifyStored(),
    // The hub is started below; operational events go to its intake once it runs.
    operational: createOperationalEvents({
      intake: () => hub?.intake,
      logger: services.logger,
      registry: services.metrics.registry,
    }),
  });
  const purge = startPurgeTimer(store, webhookSettings, services.logger);
  if (webhookSettings().encryptionKey === undefined) {
    services.logger.warn(
      'webhooks.encryptionKey is not set: outbound webhook endpoint secrets are stored unencrypted in PostgreSQL (every node needs the same key; docs/webhooks-outbound.md "Secrets")',
    );
  }
  let hub: EventHub | undefined;
  /** Gives back the node id lease, the span exporter and the store: the end of close, or of a failed start. */
  const release = async () => {
    // Pollers, brokers and the delivery worker stop while the store is still open.
    await hub?.close();
    await resolver.close();
    sharedRates?.close();
    await purge.stop();
    await audit.close();
    if (heartbeat) {
      clearInterval(heartbeat.timer);
      await store.nodes.release(heartbeat.nodeId(), instanceId).catch(() => false);
    }
    await services.spans?.shutdown();
    await store.close();
  };
  let initial: Runtime;
  let tls: ReturnType<typeof listenerTls>;
  try {
    tls = listenerTls(loaded);
    hub = await startEventHub({ loaded, store, services, resolver });
    initial = compileRuntime(loaded, services, undefined, shardDirectory, hub.endpoints);
  } catch (err) {
    await release();
    throw err;
  }
  const server = new ProxyServer(initial, { ...config.limits, tls });
  let revision: { id: string; hash: string } = { id: '', hash: hashOf(loaded.source) };
  revision.id = (await recordRevision(store, services, revision.hash, 'applied', 'start', 'start')).id;

  let draining = false;
  const reload = async (by = 'file'): Promise<ReloadOutcome> => {
    const source = by === 'file' ? 'file' : 'admin';
    const previous = revision;
    try {
      const next = loadConfigFile(options.configFile, env);
      // Certificate files are read again: a reload is how rotated certificates go live.
      const nextTls = server.tls ? listenerTls(next) : undefined;
      const events = hub!.stage(next);
      const runtime = compileRuntime(next, services, server.runtime, shardDirectory, events.endpoints);
      warnOnRestartOnly(loaded, next, services);
      server.swap(runtime);
      await events.apply();
      if (nextTls !== undefined) server.setTls(nextTls);
      loaded = next;
      // Retired pools finish their in-flight requests before closing (undici Pool#close).
      void closeUpstreams(runtime.retired);
      const hash = hashOf(next.source);
      const rev = await recordRevision(store, services, hash, 'applied', source, by);
      revision = { id: rev.id, hash };
      services.audit.record(configReloadEntry(by, options.configFile, previous, revision));
      services.metrics.configReloads.labels({ result: 'applied' }).inc();
      services.logger.info({ revision: rev.id, by }, 'config reloaded');
      return { status: 'applied', revision: rev.id, hash };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const issues = isJunctionError(err) ? (err.extensions?.issues as ReloadOutcome['issues']) : undefined;
      const hash = hashOfFile(options.configFile);
      const rev = await recordRevision(store, services, hash, 'rejected', source, by, message);
      services.audit.record(configReloadEntry(by, options.configFile, previous, { id: rev.id, hash }, err));
      services.metrics.configReloads.labels({ result: 'rejected' }).inc();
      services.logger.error(
        { revision: rev.id, by, issues: issues ?? message },
        'config rejected; the previous config keeps running',
      );
      return { status: 'rejected', revision: rev.id, hash, issues, message };
    }
  };

  const admin = await buildAdminApp({
    services,
    store,
    token: adminToken,
    version: VERSION,
    currentConfig: () => ({ revision: revision.id, hash: revision.hash, config: loaded.config }),
    reload,
    runtime: () => server.runtime,
    routes: () => routeSummaries(server.runtime),
    upstreams: () => upstreamSummaries(server.runtime),
    webhookSettings,
    onMessageSent: () => hub?.notifyStored(),
    notReadyReason: async () => {
      if (draining) return 'draining';
      try {
        await sql`select 1`.execute(store.db);
      } catch {
        return 'store unreachable';
      }
      return undefined;
    },
  });

  let proxyAddr: AddressInfo;
  try {
    proxyAddr = await server.listen(
      options.ports?.proxy ?? config.listeners.proxy.port,
      config.listeners.proxy.host,
    );
    await admin.listen({
      port: options.ports?.admin ?? config.listeners.admin.port,
      host: config.listeners.admin.host,
    });
  } catch (err) {
    // A port in use: close what did start, or `junction start` would print the error and hang on
    // the listener that bound.
    await server.drain(0);
    await admin.close();
    await closeUpstreams(server.runtime.upstreams.values());
    await release();
    throw err;
  }
  const adminAddr = admin.server.address() as AddressInfo;
  const watcher = config.reload.watch
    ? watchConfig(options.configFile, () => void reload('file'), services.logger)
    : undefined;

  const gateway: Gateway = {
    proxyUrl: urlOf(proxyAddr, server.tls ? 'https' : 'http'),
    adminUrl: urlOf(adminAddr),
    adminToken,
    services,
    store,
    server,
    reload,
    async close() {
      draining = true;
      watcher?.close();
      const drained = await server.drain(loaded.config.shutdown.drainTimeoutMs);
      await admin.close();
      await closeUpstreams(server.runtime.upstreams.values());
      await closePolicies(services);
      await closePacing(services);
      services.audit.record(lifecycleEntry('gateway.stop', nodeId, { drained }));
      await release();
      return { drained };
    },
  };
  services.logger.info(
    { proxy: gateway.proxyUrl, admin: gateway.adminUrl, version: VERSION },
    'junction started',
  );
  services.audit.record(
    lifecycleEntry('gateway.start', nodeId, {
      version: VERSION,
      revision: revision.id,
      proxy: gateway.proxyUrl,
    }),
  );
  return gateway;
}

function urlOf(a: AddressInfo, scheme = 'http'): string {
  return `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

function hashOfFile(file: string): string {
  try {
    return hashOf(readFileSync(file, 'utf8'));
  } catch {
    return 'unreadable';
  }
}

function hashOf(source: string): string {
  return createHash('sha256').update(source).digest('hex');
}

async function recordRevision(
  store: Store,
  services: Services,
  hash: string,
  status: 'applied' | 'rejected',
  source: 'start' | 'file' | 'admin',
  by: string,
  error?: string,
) {
  return store.configRevisions.record({
    id: services.ids.next('cfg'),
    hash,
    status,
    source,
    appliedBy: by,
    error: error?.slice(0, 8000) ?? null,
  });
}

/**
 * Renews the node id lease (Q35). If the lease was lost (this process stalled longer than the TTL
 * and another node took the id), it leases a fresh id and swaps the generator, so two live nodes
 * never issue ids with the same node bits.
 */
function keepLease(store: Store, services: Services, instanceId: string, initial: number) {
  let nodeId = initial;
  const timer = setInterval(async () => {
    try {
      if (await store.nodes.heartbeat(nodeId, instanceId)) return;
      nodeId = await store.nodes.lease(instanceId, NODE_LEASE_TTL_MS);
      services.ids = new Snowflake({ nodeId });
      services.logger.warn({ nodeId }, 'node id lease was lost; leased a new one');
    } catch (err) {
      services.logger.error({ err }, 'node id lease renewal failed');
    }
  }, NODE_LEASE_TTL_MS / 3);
  timer.unref();
  return { timer, nodeId: () => nodeId };
}

/** Listener addresses are bound once; a reload that changes them says so instead of ignoring it silently. */
function warnOnRestartOnly(prev: LoadedConfig, next: LoadedConfig, services: Services): void {
  const a = prev.config;
  const b = next.config;
  const changed = [
    JSON.stringify(restartOnlyListeners(a)) !== JSON.stringify(restartOnlyListeners(b)) && 'listeners',
    JSON.stringify(a.store) !== JSON.stringify(b.store) && 'store',
    JSON.stringify(a.limits) !== JSON.stringify(b.limits) && 'limits',
    JSON.stringify(a.observability) !== JSON.stringify(b.observability) && 'observability',
    a.node.id !== b.node.id && 'node',
  ].filter(Boolean);
  if (changed.length > 0)
    services.logger.warn({ sections: changed }, 'these sections take effect on restart only');
}

/** Listener settings a reload cannot apply: all but the TLS files and minimum version (`setTls`). */
function restartOnlyListeners(config: LoadedConfig['config']) {
  const { tls, ...proxy } = config.listeners.proxy;
  const handshake = tls && {
    requestCert: tls.requestCert,
    rejectUnauthorized: tls.rejectUnauthorized,
    ca: !!tls.ca,
  };
  return { ...config.listeners, proxy: { ...proxy, tls: handshake } };
}

/** The embedded store's key file for endpoint secrets; none on PostgreSQL or an in-memory SQLite. */
function localKeyOf(store: Store, url: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (store.dialect !== 'sqlite') return undefined;
  const target = resolveStoreTarget({ url }, env);
  return target.dialect === 'sqlite' && target.dir !== undefined ? localKey(target.dir) : undefined;
}
