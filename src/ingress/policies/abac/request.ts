/**
 * A request as Cedar sees it (principal, action, resource, context), built from config only:
 *
 * - principal `User::"<principal.id>"`, its attributes the credential's (JWT claims, certificate
 *   fields) plus `id`, `kind`, `roles`, `scopes` and `tenant`; with `roleType`, each role a parent;
 * - action `Action::"<method>"`, or the id `action.methods` maps the method to, or a fixed `action.id`;
 * - resource `<type>::"<id>"` with attributes from path params, headers, query, claims or constants;
 * - context `{ time, clientIp, route, method, path, claims }`.
 *
 * Entity ids are passed as JSON, never spliced into policy text: no value can change a policy.
 */
import type { CedarValueJson, Context, EntityJson, TypeAndId } from '@cedar-policy/cedar-wasm/nodejs';
import type { RequestContext } from '../../../core/policy.ts';
import type { Principal } from '../../../core/principal.ts';
import { claimAt } from '../jwt/index.ts';
import type { AbacConfig, Source } from './schema.ts';
import { entityRef, ipValue, toCedar, toCedarRecord } from './values.ts';

export interface CedarRequest {
  principal: TypeAndId;
  action: TypeAndId;
  resource: TypeAndId;
  context: Context;
  entities: EntityJson[];
}

/** A source's raw value in this request, or undefined when the request has none. */
function read(source: Source, ctx: RequestContext): unknown {
  if ('value' in source) return source.value;
  if ('param' in source) return ctx.params[source.param];
  if ('header' in source) {
    const h = ctx.headers[source.header.toLowerCase()];
    return Array.isArray(h) ? h[0] : h;
  }
  if ('query' in source)
    return ctx.query ? (new URLSearchParams(ctx.query).get(source.query) ?? undefined) : undefined;
  const claims = ctx.slots.claims ?? ctx.slots.principal?.attributes;
  return claims ? claimAt(claims, source.claim) : undefined;
}

function sourceValue(source: Source, ctx: RequestContext): CedarValueJson | undefined {
  const raw = read(source, ctx);
  if (raw === undefined) return undefined;
  if ('entity' in source && source.entity !== undefined) return entityRef(source.entity, String(raw));
  return toCedar(raw);
}

function principalEntity(p: Principal, config: AbacConfig): EntityJson {
  const attrs = toCedarRecord(p.attributes);
  attrs.id = p.id;
  attrs.kind = p.kind;
  attrs.roles = p.roles;
  attrs.scopes = p.scopes;
  if (p.tenant !== undefined) attrs.tenant = p.tenant;
  else delete attrs.tenant;
  const roleType = config.roleType;
  return {
    uid: { type: config.principalType, id: p.id },
    attrs,
    parents: roleType === undefined ? [] : p.roles.map((id) => ({ type: roleType, id })),
  };
}

/** `now` is the time the decision is made at (ms); `time` turns it into `context.time`. */
export function cedarRequest(
  ctx: RequestContext,
  principal: Principal,
  config: AbacConfig,
  time: Record<string, CedarValueJson>,
): CedarRequest {
  const principalUid = { type: config.principalType, id: principal.id };
  const action = {
    type: config.action.type,
    id: config.action.id ?? config.action.methods[ctx.method] ?? ctx.method,
  };
  const idRaw = config.resource.id === undefined ? ctx.path : read(config.resource.id, ctx);
  const resourceUid = { type: config.resource.type, id: idRaw === undefined ? '' : String(idRaw) };
  const resourceAttrs: Record<string, CedarValueJson> = {};
  for (const [name, source] of Object.entries(config.resource.attributes)) {
    const v = sourceValue(source, ctx);
    if (v !== undefined) resourceAttrs[name] = v;
  }
  const context: Context = {
    time,
    route: ctx.routeName,
    method: ctx.method,
    path: ctx.path,
    claims: ctx.slots.claims ? toCedarRecord(ctx.slots.claims) : {},
  };
  const ip = ipValue(ctx.clientIp);
  if (ip !== undefined) context.clientIp = ip;
  return {
    principal: principalUid,
    action,
    resource: resourceUid,
    context,
    entities: [
      principalEntity(principal, config),
      { uid: resourceUid, attrs: resourceAttrs, parents: [] },
      ...(config.entities as EntityJson[]),
    ],
  };
}
