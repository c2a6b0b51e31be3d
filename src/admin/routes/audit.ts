/**
 * The audit log (Q50), read-only: list with filters, one record, and verification of the hash chain.
 * Nothing here writes: records are appended by the gateway itself through `services.audit`. Admin
 * role only: the log names every caller and client address (OWASP Logging Cheat Sheet, "Protection":
 * restrict access to logs).
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { AuditChainBroken, verifyChain } from '../../audit/index.ts';
import { JunctionError } from '../../core/errors.ts';
import { AUDIT_OUTCOMES, type AuditRecord, type Store } from '../../store/index.ts';
import { requireRole } from '../auth.ts';
import { AdminNotFound } from '../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageSchema, toPage } from '../pagination.ts';

export interface AuditAdmin {
  store: Store;
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const AuditView = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Nullable(Type.Object({ kind: Nullable(Type.String()), id: Type.String() })),
  action: Type.String(),
  outcome: Type.String(),
  resource: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  client_ip: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  before: Type.Unknown({ description: 'State before the change (JSON), or null' }),
  after: Type.Unknown({ description: 'State after the change (JSON), or null' }),
  prev_hash: Type.String(),
  hash: Type.String(),
});

const AuditQuery = Type.Object(
  {
    ...PageQuery.properties,
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'e.g. config.reload' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The actor id' })),
    outcome: Type.Optional(Type.Union(AUDIT_OUTCOMES.map((o) => Type.Literal(o)))),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Records at or after (RFC 3339)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Records before (RFC 3339)' })),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ pattern: '^aud_[0-9A-Z]{13}$' }) });

const Verified = Type.Object({
  intact: Type.Literal(true),
  records: Type.Integer(),
  head: Type.Object({ seq: Type.Integer(), hash: Type.String() }),
});

function view(r: AuditRecord) {
  return {
    id: r.id,
    seq: r.seq,
    at: new Date(r.at).toISOString(),
    actor: r.actorId === null ? null : { kind: r.actorKind, id: r.actorId },
    action: r.action,
    outcome: r.outcome,
    resource: r.resource,
    request_id: r.requestId,
    client_ip: r.clientIp,
    reason: r.reason,
    before: parsed(r.before),
    after: parsed(r.after),
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

/** Stored JSON text → JSON; text that no longer parses (tampering) is shown as it is. */
function parsed(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function registerAuditRoutes(api: FastifyInstance, deps: AuditAdmin): void {
  const tags = ['audit'];
  // One walk at a time per node: a second caller shares the running one instead of doubling the load.
  let verifying: ReturnType<typeof verifyChain> | undefined;

  api.get(
    '/audit',
    {
      ...requireRole('admin'),
      schema: {
        summary: 'Audit records, newest first, filtered by action, actor, outcome and time range',
        tags,
        querystring: AuditQuery,
        response: { 200: pageSchema(AuditView) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof AuditQuery>;
      const page = await deps.store.auditLog.list({
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor === undefined ? undefined : decodeCursor('audit', q.cursor),
        action: q.action,
        actor: q.actor,
        outcome: q.outcome,
        from: q.from === undefined ? undefined : Date.parse(q.from),
        to: q.to === undefined ? undefined : Date.parse(q.to),
      });
      return toPage('audit', page.items.map(view), page.next);
    },
  );

  api.get(
    '/audit/verify',
    {
      ...requireRole('admin'),
      schema: {
        summary: 'Walk the hash chain; 200 when intact, 500 audit_chain_broken naming the first bad record',
        tags,
        response: { 200: Verified },
      },
    },
    async () => {
      verifying ??= verifyChain(deps.store.auditLog).finally(() => {
        verifying = undefined;
      });
      const result = await verifying;
      if (!result.intact) {
        const { message, ...failure } = result.failure;
        throw new JunctionError(AuditChainBroken, message, {
          extensions: { ...failure, records_checked: result.records },
        });
      }
      return result;
    },
  );

  api.get(
    '/audit/:id',
    {
      ...requireRole('admin'),
      schema: { summary: 'One audit record', tags, params: IdParams, response: { 200: AuditView } },
    },
    async (req) => {
      const { id } = req.params as Static<typeof IdParams>;
      const record = await deps.store.auditLog.get(id);
      if (record === undefined) throw new JunctionError(AdminNotFound, `no audit record ${id}`);
      return view(record);
    },
  );
}
