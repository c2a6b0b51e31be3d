/**
 * The admin listener: `/healthz`, `/readyz`, `/metrics` for operators' tooling, and the admin API
 * under `/admin/v1` (bearer token, OpenAPI 3.1 at `/admin/v1/openapi.json`). Fastify here: this is
 * not the hot path, and schema-driven routes give validation and the OpenAPI document from the same
 * TypeBox schemas (STYLE.md §4).
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { BadRequest, isJunctionError, JunctionError, PayloadTooLarge } from '../core/errors.ts';
import { problemResponse } from '../core/problem.ts';
import type { Services } from '../core/services.ts';
import { adminAuth } from './auth.ts';
import { AdminNotFound, AdminValidation } from './errors.ts';
import { type AuditAdmin, registerAuditRoutes } from './routes/audit.ts';
import { type ConfigAdmin, registerConfigRoutes } from './routes/config.ts';
import { type EventsAdmin, registerEventRoutes } from './routes/events.ts';
import { type KeysAdmin, registerKeyRoutes } from './routes/keys.ts';
import { registerShardRoutes, type ShardAdmin } from './routes/shards.ts';
import { registerSystemRoutes, type SystemAdmin } from './routes/system.ts';
import { registerWebhookRoutes, type WebhooksAdmin } from './routes/webhooks.ts';

export interface AdminDeps
  extends ConfigAdmin,
    SystemAdmin,
    ShardAdmin,
    KeysAdmin,
    AuditAdmin,
    EventsAdmin,
    WebhooksAdmin {
  services: Services;
  /** The admin-role bearer token for `/admin/v1` (more in `admin.tokens`); compared in constant time. */
  token: string;
  version: string;
}

export async function buildAdminApp(deps: AdminDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    genReqId: () => deps.services.ids.next('req'),
    bodyLimit: 1_048_576,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Junction admin API',
        version: deps.version,
        description:
          'Operate a Junction gateway. Errors are RFC 9457 problem documents with a stable `code`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((err, req, reply) => {
    let e: unknown = err;
    const statusCode = (err as { statusCode?: number }).statusCode;
    if ((err as { validation?: unknown }).validation) {
      e = new JunctionError(AdminValidation, (err as Error).message, {
        extensions: { errors: (err as { validation: unknown }).validation },
      });
    } else if (!isJunctionError(err) && statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      // Fastify's own refusals (empty or malformed JSON body, unsupported media type, body too
      // large) are the client's mistake: answer them as such, not as a 500.
      e = new JunctionError(statusCode === 413 ? PayloadTooLarge : BadRequest, (err as Error).message, {
        cause: err,
      });
    } else if (!isJunctionError(err)) {
      deps.services.logger.error({ err, requestId: req.id }, 'admin request failed');
    }
    const { status, headers, body } = problemResponse(e, req.headers.accept, req.id, req.url.split('?')[0]);
    reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    const { status, headers, body } = problemResponse(
      new JunctionError(AdminNotFound, `no admin resource at ${req.method} ${req.url.split('?')[0]}`),
      req.headers.accept,
      req.id,
    );
    reply.code(status).headers(headers).send(body);
  });

  registerSystemRoutes(app, deps);
  await app.register(
    async (api) => {
      api.addHook(
        'onRequest',
        adminAuth({
          token: deps.token,
          tokens: () => deps.currentConfig().config.admin.tokens ?? [],
          apiKeysEnabled: () => deps.currentConfig().config.admin.apiKeys ?? true,
          apiKeys: deps.store.apiKeys,
          services: deps.services,
        }),
      );
      registerConfigRoutes(api, deps);
      registerShardRoutes(api, deps);
      registerAuditRoutes(api, deps);
      registerKeyRoutes(api, deps);
      registerEventRoutes(api, deps);
      registerWebhookRoutes(api, deps);
    },
    { prefix: '/admin/v1' },
  );
  app.get('/admin/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
