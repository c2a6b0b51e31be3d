/**
 * What the outbound webhook routes share (issue #7): their deps, the application a path names as
 * the caller may see it, and the audit record of a change.
 *
 * Tenancy: an application belongs to a tenant ('' for none). A tenant-scoped caller sees, sends to
 * and manages its tenant's applications only; another tenant's application is a 404 to it, like one
 * that does not exist (not a 403, which would confirm it exists). `{app}` in a path is the
 * application's id (`app_…`) or its uid within the caller's tenant.
 */
import type { FastifyRequest } from 'fastify';
import Type, { type Static, type TSchema } from 'typebox';
import { JunctionError } from '../../core/errors.ts';
import type { Services } from '../../core/services.ts';
import type { Store, WebhookApp } from '../../store/index.ts';
import type { WebhookSettings } from '../../webhooks/index.ts';
import { webhookSettings } from '../../webhooks/index.ts';
import { type AdminCaller, actorOf, adminCaller } from '../auth.ts';
import { AdminNotFound } from '../errors.ts';

export interface WebhooksAdmin {
  store: Store;
  services: Services;
  /** The running `webhooks:` settings; the defaults when absent. */
  webhookSettings?: () => WebhookSettings;
  /** A message was stored and queued: the gateway wakes its delivery worker (no wait for its poll). */
  onMessageSent?: () => void;
}

export const AppParams = Type.Object({ app: Type.String({ minLength: 1, maxLength: 256 }) });
export const Uid = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$', maxLength: 256 });
/**
 * `T | null` in request bodies, as one JSON Schema type list (`"type": ["array", "null"]`) instead of
 * `anyOf`: the admin API's Ajv coerces types (`coerceTypes: 'array'`), and inside `anyOf` it turned a
 * `null` into `[0]` or `[""]` and a one-element `[0]` into `null`. With a type list, a value of either
 * listed type is taken as it is.
 */
export const Nullable = <T extends TSchema & { type: string }>(t: T) =>
  Type.Unsafe<Static<T> | null>({ ...t, type: [t.type, 'null'] });

/** A retry schedule of an application or endpoint: the delay before each retry (its length: how many). */
export const RetrySchedule = Type.Array(Type.Integer({ minimum: 0, maximum: 86_400_000 }), {
  maxItems: 50,
  description: 'Delays in ms before each retry, overriding webhooks.retryScheduleMs; [] retries nothing',
});

const defaults = webhookSettings();
export function settingsOf(deps: WebhooksAdmin): WebhookSettings {
  return deps.webhookSettings?.() ?? defaults;
}

/** The tenant a caller's new application belongs to. */
export function tenantOf(caller: AdminCaller, asked: string | undefined): string {
  return caller.tenant ?? asked ?? '';
}

/** The live application `ref` names, if the caller may see it; otherwise a 404. */
export async function visibleApp(
  deps: WebhooksAdmin,
  caller: AdminCaller,
  ref: string,
  options: { deleted?: boolean } = {},
): Promise<WebhookApp> {
  const apps = deps.store.webhooks.apps;
  const app = ref.startsWith('app_')
    ? await apps.get(ref, options)
    : await apps.getByUid(caller.tenant ?? '', ref);
  if (app === undefined || (caller.tenant !== undefined && app.tenant !== caller.tenant)) {
    throw new JunctionError(AdminNotFound, `no application ${ref}`);
  }
  return app;
}

export function audited(
  deps: WebhooksAdmin,
  req: FastifyRequest,
  action: string,
  resource: string,
  change: { before?: unknown; after?: unknown } = {},
): void {
  deps.services.audit.record({
    action,
    outcome: 'success',
    actor: actorOf(adminCaller(req)),
    resource,
    requestId: req.id,
    clientIp: req.ip,
    ...change,
  });
}
