/** `junction keys create|list|revoke` as a child process, against the store a config names. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { stringify } from 'yaml';
import { openStore } from '../src/store/index.ts';
import { startAuthGateway } from './helpers/auth.ts';
import { runCli } from './helpers/cli.ts';
import { startUpstream } from './helpers/upstream.ts';

const junction = (args: string[]) => runCli(args);

function configFile(t: TestContext): { file: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'junction-cli-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'junction.db');
  const file = join(dir, 'junction.yaml');
  writeFileSync(file, stringify({ store: { url: `sqlite:${db}` }, routes: [] }));
  return { file, db };
}

test('create prints the secret once; list shows the key without it; revoke marks it revoked', async (t) => {
  const { file, db } = configFile(t);
  const created = await junction([
    'keys',
    'create',
    '-c',
    file,
    '--name',
    'ci deploys',
    '--scope',
    'orders:read',
    '--scope',
    'orders:write',
    '--role',
    'deployer',
    '--expires',
    '30d',
  ]);
  assert.equal(created.code, 0, created.stderr);
  const id = /^id: +(jk_\w{13})$/m.exec(created.stdout)?.[1];
  const secret = /^secret: +(jk_\S+)$/m.exec(created.stdout)?.[1];
  assert.ok(id && secret, created.stdout);
  assert.match(created.stdout, /^roles: +deployer$/m);
  assert.match(created.stdout, /^scopes: +orders:read orders:write$/m);
  const expires = Date.parse(/^expires: +(\S+)$/m.exec(created.stdout)?.[1] ?? '');
  assert.ok(Math.abs(expires - (Date.now() + 30 * 86_400_000)) < 60_000);
  assert.match(created.stderr, /shown this once/);

  const listed = await junction(['keys', 'list', '-c', file]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^ID +NAME +ROLES +SCOPES +TENANT +EXPIRES +STATUS +LAST USED$/m);
  assert.match(
    listed.stdout,
    new RegExp(`^${id} +ci deploys +deployer +orders:read orders:write +- +\\S+ +active +-$`, 'm'),
  );
  assert.ok(!listed.stdout.includes(secret.slice(16)), 'list never shows the secret');

  const revoked = await junction(['keys', 'revoke', id, '-c', file]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout, `revoked ${id} (ci deploys)\n`);
  const json = await junction(['keys', 'list', '-c', file, '--json']);
  const keys = JSON.parse(json.stdout) as { id: string; revoked_at: string | null; secret?: string }[];
  assert.equal(keys.length, 1);
  assert.equal(keys[0]?.id, id);
  assert.match(String(keys[0]?.revoked_at), /^\d{4}-/);
  assert.equal(keys[0]?.secret, undefined);
  const again = await junction(['keys', 'revoke', id, '-c', file]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already revoked/);

  // Q50: the CLI's changes are in the audit log, by the CLI's user, and the chain holds.
  const store = await openStore({ url: `sqlite:${db}` });
  try {
    const { items } = await store.auditLog.list({ limit: 100 });
    assert.deepEqual(
      items
        .filter((r) => r.resource === id)
        .map((r) => [r.action, r.actorKind])
        .sort(),
      [
        ['admin.key.create', 'cli'],
        ['admin.key.revoke', 'cli'],
      ],
    );
    assert.ok(!JSON.stringify(items).includes(secret.slice(16)), 'the secret is not in the audit log');
  } finally {
    await store.close();
  }
  const verified = await junction(['audit', 'verify', '-c', file]);
  assert.equal(verified.code, 0, verified.stderr);
});

test('a key made by the CLI opens a route of a gateway on the same store', async (t) => {
  const { file, db } = configFile(t);
  const created = await junction([
    'keys',
    'create',
    '-c',
    file,
    '--name',
    'bootstrap',
    '--role',
    'reader',
    '--json',
  ]);
  assert.equal(created.code, 0, created.stderr);
  const key = JSON.parse(created.stdout) as { id: string; secret: string; created_by: string };
  assert.match(key.created_by, /^cli/);
  const up = await startUpstream(t);
  const gw = await startAuthGateway(t, {
    store: { url: `sqlite:${db}` },
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'app',
        match: { path: '/app' },
        proxy: { upstream: 'app' },
        policies: { 'auth.api-key': {}, 'auth.rbac': { allow: { reader: ['GET'] } } },
      },
    ],
  });
  const res = await fetch(gw.url('/app'), { headers: { 'x-api-key': key.secret } });
  assert.equal(res.status, 200);
  assert.equal(up.seen[0]?.headers['x-junction-principal'], key.id);
});

test('usage mistakes exit 2, an unknown key exits 1', async (t) => {
  const { file } = configFile(t);
  for (const args of [
    ['keys'],
    ['keys', 'create', '-c', file],
    ['keys', 'create', '-c', file, '--name', 'x', '--expires', 'tomorrow'],
    ['keys', 'create', '-c', file, '--name', 'x', '--role', 'a,b'],
    ['keys', 'rotate', '-c', file],
    ['keys', 'list', '--bogus'],
  ]) {
    const run = await junction(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /Usage:/);
  }
  const unknown = await junction(['keys', 'revoke', "jk_' OR '1'='1", '-c', file]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no API key/);
  const help = await junction(['keys', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /junction keys create/);
});
