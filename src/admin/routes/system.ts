/** Liveness, readiness and Prometheus metrics: unauthenticated, for load balancers and scrapers. */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Services } from '../../core/services.ts';

export interface SystemAdmin {
  services: Services;
  /** Why the node is not ready (starting, draining, store unreachable), or undefined when it is. */
  notReadyReason(): Promise<string | undefined>;
}

const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });

export function registerSystemRoutes(app: FastifyInstance, deps: SystemAdmin): void {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the process is up', security: [], response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: config loaded, listening, store reachable',
        security: [],
        response: { 200: Status, 503: Status },
      },
    },
    async (_req, reply) => {
      const reason = await deps.notReadyReason();
      if (reason !== undefined) return reply.code(503).send({ status: 'not ready', reason });
      return { status: 'ready' };
    },
  );
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', security: [] } }, async (_req, reply) => {
    reply.header('content-type', deps.services.metrics.registry.contentType);
    return deps.services.metrics.registry.metrics();
  });
}
