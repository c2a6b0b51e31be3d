/**
 * `junction keys create|list|revoke`: API keys straight in the store (the one `-c junction.yaml` or
 * JUNCTION_DATABASE_URL names, as for `junction migrate`), for bootstrapping before any admin token
 * exists and for scripts. The secret is printed once, on create, and is not recoverable afterwards.
 */
import { parseArgs } from 'node:util';
import type { AuditSink } from '../core/audit.ts';
import {
  type ApiKeyView,
  apiKeyView,
  type IssueApiKeyInput,
  issueApiKey,
  KEY_ROLE,
  KEY_SCOPE,
} from '../ingress/policies/api-key/index.ts';
import type { ApiKey, Store } from '../store/index.ts';
import { cliActor, type StoreSession, UsageError, withStoreSession } from './store-session.ts';
import { printTable } from './table.ts';

export const KEYS_USAGE = `Usage:
  junction keys create --name <name> [--scope s]... [--role r]... [--tenant t] [--expires 30d|<date-time>]
  junction keys list   [--tenant t]
  junction keys revoke <id>
Options: -c junction.yaml (the store to use), --json (machine-readable output)
`;

const OPTIONS = {
  config: { type: 'string', short: 'c', default: 'junction.yaml' },
  name: { type: 'string' },
  scope: { type: 'string', multiple: true },
  role: { type: 'string', multiple: true },
  tenant: { type: 'string' },
  expires: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];
const parse = (argv: string[]) => parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });

export interface KeysIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Where CLI changes are recorded; by default the store's audit log. */
  audit?: AuditSink;
}

const processIo: KeysIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30d`, `12h`, `90m`, `3600s`, or an ISO 8601 date-time; epoch milliseconds, in the future. */
export function parseExpiry(value: string, now: number): number {
  const m = /^(\d{1,6})([smhd])$/.exec(value);
  const at = m ? now + Number(m[1]) * UNITS[m[2]!]! : Date.parse(value);
  if (!Number.isFinite(at) || at <= now) {
    throw new UsageError(`--expires ${value}: give a duration like 30d, 12h, 90m or a future date-time`);
  }
  return at;
}

/** Exit code: 0 done, 1 failed (unknown key), 2 usage error. */
export async function keysCommand(argv: string[], io: KeysIo = processIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${KEYS_USAGE}`);
    return 2;
  }
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined) {
    (values.help ? io.out : io.err)(KEYS_USAGE);
    return values.help ? 0 : 2;
  }
  try {
    if (sub === 'create') {
      const now = Date.now();
      const input = createInput(values, now);
      return await withStoreSession(values.config, io, { writes: true }, (ctx) =>
        create(ctx, input, now, values, io),
      );
    }
    if (sub === 'list')
      return await withStoreSession(values.config, io, { writes: false }, ({ store }) =>
        list(store, values, io),
      );
    if (sub === 'revoke') {
      if (rest.length !== 1) throw new UsageError('revoke takes one key id');
      return await withStoreSession(values.config, io, { writes: true }, (ctx) =>
        revoke(ctx, rest[0]!, values, io),
      );
    }
    throw new UsageError(`unknown keys command ${sub}`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${KEYS_USAGE}`);
    return 2;
  }
}

type KeysContext = StoreSession;

/** The actor of CLI changes, as the audit log and `created_by` name it. */
const cliUser = (): string => cliActor().id;

/** Checked before the store is opened, so a typo costs no connection. */
function createInput(values: Values, now: number): IssueApiKeyInput {
  const name = values.name;
  if (!name) throw new UsageError('create needs --name');
  if (name.length > 128) throw new UsageError('--name is 128 characters at most');
  for (const r of values.role ?? []) {
    if (!KEY_ROLE.test(r)) throw new UsageError(`--role ${r}: letters, digits and _.:- only`);
  }
  for (const s of values.scope ?? []) {
    if (!KEY_SCOPE.test(s)) throw new UsageError(`--scope ${s}: no spaces, quotes or backslashes`);
  }
  return {
    name,
    scopes: values.scope ?? [],
    roles: values.role ?? [],
    tenant: values.tenant ?? null,
    expiresAt: values.expires === undefined ? null : parseExpiry(values.expires, now),
    createdBy: cliUser(),
  };
}

async function create(
  { store, ids, audit }: KeysContext,
  input: IssueApiKeyInput,
  now: number,
  values: Values,
  io: KeysIo,
): Promise<number> {
  const issued = await issueApiKey(store.apiKeys, ids, input, now);
  const view = apiKeyView(issued.key);
  audit.record({
    action: 'admin.key.create',
    outcome: 'success',
    actor: cliActor(),
    resource: view.id,
    after: view,
  });
  if (values.json) io.out(`${JSON.stringify({ ...view, secret: issued.secret })}\n`);
  else io.out(`${describe(view)}secret:  ${issued.secret}\n`);
  io.err('The secret is shown this once; only its SHA-256 is stored.\n');
  return 0;
}

async function list(store: Store, values: Values, io: KeysIo): Promise<number> {
  const all: ApiKey[] = [];
  let after: string | undefined;
  do {
    const page = await store.apiKeys.list({
      limit: 500,
      after,
      ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
    });
    all.push(...page.items);
    after = page.next;
  } while (after !== undefined);
  const views = all.map(apiKeyView);
  if (values.json) {
    io.out(`${JSON.stringify(views)}\n`);
    return 0;
  }
  const rows = [
    ['ID', 'NAME', 'ROLES', 'SCOPES', 'TENANT', 'EXPIRES', 'STATUS', 'LAST USED'],
    ...views.map((v) => [
      v.id,
      v.name,
      v.roles.join(',') || '-',
      v.scopes.join(' ') || '-',
      v.tenant ?? '-',
      v.expires_at ?? 'never',
      status(v),
      v.last_used_at ?? '-',
    ]),
  ];
  printTable(rows, io.out);
  return 0;
}

async function revoke(
  { store, audit }: KeysContext,
  id: string,
  values: Values,
  io: KeysIo,
): Promise<number> {
  const before = await store.apiKeys.get(id);
  if (before === undefined) {
    io.err(`no API key ${id}\n`);
    return 1;
  }
  if (before.revokedAt !== null) {
    io.out(`${id} was already revoked at ${new Date(before.revokedAt).toISOString()}\n`);
    return 0;
  }
  const after = (await store.apiKeys.revoke(id))!;
  audit.record({
    action: 'admin.key.revoke',
    outcome: 'success',
    actor: cliActor(),
    resource: id,
    before: apiKeyView(before),
    after: apiKeyView(after),
  });
  if (values.json) io.out(`${JSON.stringify(apiKeyView(after))}\n`);
  else io.out(`revoked ${id} (${after.name})\n`);
  return 0;
}

function status(v: ApiKeyView): string {
  if (v.revoked_at !== null) return 'revoked';
  if (v.expires_at !== null && Date.parse(v.expires_at) <= Date.now()) return 'expired';
  return 'active';
}

function describe(v: ApiKeyView): string {
  return [
    `id:      ${v.id}`,
    `name:    ${v.name}`,
    `roles:   ${v.roles.join(', ') || '-'}`,
    `scopes:  ${v.scopes.join(' ') || '-'}`,
    `tenant:  ${v.tenant ?? '-'}`,
    `expires: ${v.expires_at ?? 'never'}`,
    '',
  ].join('\n');
}
