// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config's own syntax, not a template.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { noAudit } from '../core/audit.ts';
import { isJunctionError } from '../core/errors.ts';
import { Snowflake } from '../core/ids.ts';
import { createLogger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import type { Services } from '../core/services.ts';
import { closeUpstreams, compileRuntime, policyFactories } from '../ingress/index.ts';
import type { ConfigIssue } from './errors.ts';
import { type LoadedConfig, loadConfigFile, loadConfigText } from './loader.ts';

/** Source lines joined with newlines, so line numbers in assertions can be counted by eye. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** Every registered policy, as the unknown-policy message lists them; grows as capabilities land. */
const KNOWN = policyFactories()
  .map((p) => p.name)
  .join(', ');

/** The `issues` of the config_invalid error `fn` throws (fails the test if it does not). */
function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    assert.ok(isJunctionError(err), `expected a JunctionError, got ${err}`);
    assert.equal(err.code, 'config_invalid');
    return err.extensions?.issues as ConfigIssue[];
  }
  assert.fail('expected config_invalid');
}

const brief = (issues: ConfigIssue[]) => issues.map((i) => `${i.line}:${i.col} ${i.path} ${i.message}`);

function testServices(): Services {
  const logger = createLogger({ level: 'silent' });
  return {
    logger,
    accessLogger: logger,
    metrics: createMetrics({ defaultMetrics: false }),
    ids: new Snowflake({ nodeId: 0 }),
    spans: undefined,
    audit: noAudit,
    redisUrl: undefined,
  };
}

/** Loads, then compiles (the runtime's reference checks), closing any pools it opened. */
async function compile(source: string): Promise<LoadedConfig> {
  const loaded = loadConfigText(source, 'junction.yaml', {});
  const runtime = compileRuntime(loaded, testServices());
  await closeUpstreams(runtime.upstreams.values());
  return loaded;
}

async function compileIssues(source: string): Promise<ConfigIssue[]> {
  try {
    await compile(source);
  } catch (err) {
    assert.ok(isJunctionError(err), `expected a JunctionError, got ${err}`);
    assert.equal(err.code, 'config_invalid');
    return err.extensions?.issues as ConfigIssue[];
  }
  assert.fail('expected config_invalid');
}

test('an unknown key is reported at the key, with its JSON path', () => {
  const source = yaml('listeners:', '  proxy:', '    port: 80', '    bogus: 1');
  const issues = issuesOf(() => loadConfigText(source, 'junction.yaml', {}));
  assert.deepEqual(issues, [
    { file: 'junction.yaml', line: 4, col: 5, path: '/listeners/proxy/bogus', message: 'unknown key' },
  ]);
});

test('the error message lists issues as file:line:col  path  message', () => {
  try {
    loadConfigText(yaml('reload:', '  watch: true', '  wacth: false'), 'conf/j.yaml', {});
    assert.fail('expected config_invalid');
  } catch (err) {
    assert.equal((err as Error).message, 'conf/j.yaml:3:3  /reload/wacth  unknown key');
  }
});

test('a port above 65535 is out of range', () => {
  const issues = issuesOf(() =>
    loadConfigText(yaml('listeners:', '  admin:', '    port: 70000'), 'j.yaml', {}),
  );
  assert.deepEqual(brief(issues), ['3:5 /listeners/admin/port must be <= 65535']);
});

test('a port given as a string is a type error, not coerced', () => {
  const issues = issuesOf(() =>
    loadConfigText(yaml('listeners:', '  admin:', '    port: "80"'), 'j.yaml', {}),
  );
  assert.deepEqual(brief(issues), ['3:5 /listeners/admin/port must be integer']);
});

test('several mistakes are reported together, each at its own position', () => {
  const source = yaml(
    'listeners:',
    '  proxy:',
    '    port: -1',
    'upstreams:',
    '  a:',
    '    targets: []',
    '    extra: true',
    'routes:',
    '  - name: "bad name"',
    '    match: { path: x }',
  );
  const issues = issuesOf(() => loadConfigText(source, 'j.yaml', {}));
  // In file order.
  assert.deepEqual(brief(issues), [
    '3:5 /listeners/proxy/port must be >= 0',
    '6:5 /upstreams/a/targets must not have fewer than 1 items',
    '7:5 /upstreams/a/extra unknown key',
    '9:5 /routes/0/name must match pattern "^[A-Za-z0-9][A-Za-z0-9_.-]*$"',
    '10:14 /routes/0/match/path must match pattern "^/"',
  ]);
});

test('a YAML syntax error is one issue with its position', () => {
  const issues = issuesOf(() =>
    loadConfigText(yaml('listeners:', '  proxy: [1, 2', 'foo: bar'), 'j.yaml', {}),
  );
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.file, 'j.yaml');
  assert.equal(issues[0]!.line, 3);
  assert.equal(issues[0]!.col, 1);
  assert.match(issues[0]!.message, /flow sequence/i);
});

test('a key given twice is refused, not last-one-wins', () => {
  const top = issuesOf(() =>
    loadConfigText(yaml('reload:', '  watch: true', 'reload:', '  watch: false'), 'j.yaml', {}),
  );
  assert.deepEqual(brief(top), ['3:1 /reload key reload is given twice; keys must be unique']);
  const nested = issuesOf(() =>
    loadConfigText(yaml('listeners:', '  proxy:', '    port: 1', '    port: 2'), 'j.yaml', {}),
  );
  assert.deepEqual(brief(nested), ['4:5 /listeners/proxy/port key port is given twice; keys must be unique']);
});

test('an empty file is an empty config with every default', () => {
  const { config } = loadConfigText('', 'j.yaml', {});
  assert.equal(config.listeners.proxy.port, 8080);
  assert.equal(config.listeners.admin.port, 8081);
  assert.equal(config.reload.watch, true);
  assert.deepEqual(config.routes, []);
});

test('a top-level list is refused', () => {
  const issues = issuesOf(() => loadConfigText('- a\n- b\n', 'j.yaml', {}));
  assert.deepEqual(brief(issues), ['1:1  the config must be a mapping']);
});

test('${VAR} and ${VAR:-default} are interpolated inside strings', () => {
  const source = yaml(
    'admin:',
    '  token: "tok-${T:-abc}-${U}-0123456789"',
    'store:',
    '  url: sqlite:${DIR}/j.db',
  );
  const { config } = loadConfigText(source, 'j.yaml', { U: 'uuu', DIR: '/var/lib/junction' });
  assert.equal(config.admin.token, 'tok-abc-uuu-0123456789');
  assert.equal(config.store.url, 'sqlite:/var/lib/junction/j.db');
  // A set variable wins over its default.
  assert.equal(
    loadConfigText(source, 'j.yaml', { T: 'set', U: 'u', DIR: '/d' }).config.admin.token,
    'tok-set-u-0123456789',
  );
  // An empty variable counts as unset (shell `:-`): the default applies, and without one it is an error.
  assert.equal(
    loadConfigText(source, 'j.yaml', { T: '', U: 'u', DIR: '/d' }).config.admin.token,
    'tok-abc-u-0123456789',
  );
  assert.deepEqual(brief(issuesOf(() => loadConfigText(source, 'j.yaml', { U: '', DIR: '/d' }))), [
    '2:10 /admin/token environment variable U is not set and has no default (${U:-default})',
  ]);
});

test('an unquoted whole-scalar reference takes the YAML type: port ${P:-8080} is a number', () => {
  const source = yaml('listeners:', '  proxy:', '    port: ${P:-8080}', 'reload:', '  watch: ${W:-false}');
  const defaults = loadConfigText(source, 'j.yaml', {}).config;
  assert.equal(defaults.listeners.proxy.port, 8080);
  assert.equal(defaults.reload.watch, false);
  const fromEnv = loadConfigText(source, 'j.yaml', { P: '9090', W: 'true' }).config;
  assert.equal(fromEnv.listeners.proxy.port, 9090);
  assert.equal(fromEnv.reload.watch, true);
});

test('a quoted whole-scalar reference stays a string even when the value looks like a number', () => {
  const source = yaml('admin:', '  token: "${TOKEN}"');
  const { config } = loadConfigText(source, 'j.yaml', { TOKEN: '12345678901234567890' });
  assert.equal(config.admin.token, '12345678901234567890');
});

test('a variable holding YAML syntax stays text: it cannot inject a mapping or break the parser', () => {
  const source = yaml('store:', '  url: ${URL}');
  for (const value of ['{ not: yaml', 'a: b', '[1, 2]', '*alias', 'x # not a comment', '"quoted"']) {
    const { config } = loadConfigText(source, 'j.yaml', { URL: value });
    assert.equal(config.store.url, value);
  }
});

test('a missing variable without default is an error at the scalar, with its path', () => {
  const source = yaml('listeners:', '  proxy:', '    port: 1', 'store:', '  url: ${NOPE_NOT_SET}');
  const issues = issuesOf(() => loadConfigText(source, 'j.yaml', {}));
  assert.equal(issues.length, 1, 'reported once, not again by the schema');
  assert.deepEqual(issues[0], {
    file: 'j.yaml',
    line: 5,
    col: 8,
    path: '/store/url',
    message: 'environment variable NOPE_NOT_SET is not set and has no default (${NOPE_NOT_SET:-default})',
  });
});

test('an unset variable is reported once, not again as a schema error about its empty value', () => {
  const issues = issuesOf(() => loadConfigText(yaml('admin:', '  token: ${ADMIN_TOKEN}'), 'j.yaml', {}));
  assert.deepEqual(brief(issues), [
    '2:10 /admin/token environment variable ADMIN_TOKEN is not set and has no default (${ADMIN_TOKEN:-default})',
  ]);
});

test('defaults are filled inside each upstreams entry (pool, timeouts) and apis entry', () => {
  const source = yaml(
    'upstreams:',
    '  a:',
    '    targets: [http://127.0.0.1:1]',
    '  b:',
    '    targets: [http://127.0.0.1:2]',
    '    pool: { connections: 3 }',
    '    timeouts: { connectMs: 50 }',
    'apis:',
    '  shop:',
    '    versions: { "1": {} }',
  );
  const { config } = loadConfigText(source, 'j.yaml', {});
  assert.deepEqual(config.upstreams.a!.pool, { connections: 128, keepAliveTimeoutMs: 4000, pipelining: 1 });
  assert.deepEqual(config.upstreams.a!.timeouts, { connectMs: 2000, firstByteMs: 30000, idleMs: 60000 });
  assert.deepEqual(config.upstreams.b!.pool, { connections: 3, keepAliveTimeoutMs: 4000, pipelining: 1 });
  assert.deepEqual(config.upstreams.b!.timeouts, { connectMs: 50, firstByteMs: 30000, idleMs: 60000 });
  assert.equal(config.apis.shop!.pathPrefix, true);
});

test('locate finds the source position of a JSON pointer', () => {
  const loaded = loadConfigText(yaml('routes:', '  - name: a', '    match:', '      path: /a'), 'j.yaml', {});
  assert.deepEqual(loaded.locate('/routes/0/match/path'), { line: 4, col: 7 });
  assert.deepEqual(loaded.locate('/routes/0'), { line: 2, col: 5 });
});

test('loadConfigFile reports an unreadable file as config_unreadable', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'junction-loader-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => loadConfigFile(join(dir, 'missing.yaml'), {}), { code: 'config_unreadable' });
  const file = join(dir, 'j.yaml');
  writeFileSync(file, yaml('reload:', '  watch: 1'));
  assert.deepEqual(
    issuesOf(() => loadConfigFile(file, {})).map((i) => [i.file, i.line, i.col, i.path]),
    [[file, 2, 3, '/reload/watch']],
  );
});

test('a route naming an unknown upstream is a config error at proxy.upstream', async () => {
  const issues = await compileIssues(
    yaml(
      'upstreams:',
      '  app:',
      '    targets: [http://127.0.0.1:9]',
      'routes:',
      '  - name: a',
      '    match: { path: /a }',
      '    proxy: { upstream: nope }',
    ),
  );
  assert.deepEqual(issues, [
    {
      file: 'junction.yaml',
      line: 7,
      col: 14,
      path: '/routes/0/proxy/upstream',
      message: 'no upstream named nope (defined: app)',
    },
  ]);
});

test('an unknown api, an unknown version, and api default/successor outside the versions', async () => {
  const issues = await compileIssues(
    yaml(
      'apis:',
      '  shop:',
      '    default: "3"',
      '    versions:',
      '      "1": { successor: "9" }',
      'routes:',
      '  - name: a',
      '    match:',
      '      path: /a',
      '      version: { api: ghost, is: "1" }',
      '    respond: {}',
      '  - name: b',
      '    match:',
      '      path: /b',
      '      version: { api: shop, is: "2" }',
      '    respond: {}',
    ),
  );
  assert.deepEqual(brief(issues).sort(), [
    '10:18 /routes/0/match/version/api no api named ghost (defined: shop)',
    '15:29 /routes/1/match/version/is api shop has no version 2',
    '3:5 /apis/shop/default default version 3 is not among the versions',
    '5:14 /apis/shop/versions/1/successor successor 9 is not among the versions',
  ]);
});

test('a route name used twice is reported at the second use', async () => {
  const issues = await compileIssues(
    yaml(
      'routes:',
      '  - name: a',
      '    match: { path: /a }',
      '    respond: {}',
      '  - name: a',
      '    match: { path: /b }',
      '    respond: {}',
    ),
  );
  assert.deepEqual(brief(issues), ['5:5 /routes/1/name route name a is used twice']);
});

test('a route has exactly one handler', async () => {
  const issues = await compileIssues(
    yaml(
      'upstreams:',
      '  app: { targets: [http://127.0.0.1:9] }',
      'routes:',
      '  - name: none',
      '    match: { path: /a }',
      '  - name: both',
      '    match: { path: /b }',
      '    proxy: { upstream: app }',
      '    respond: {}',
    ),
  );
  assert.deepEqual(brief(issues), [
    '4:5 /routes/0 a route needs a handler: proxy, respond or shard',
    '6:5 /routes/1 a route has one handler, not proxy and respond',
  ]);
});

test('an unknown policy and a bad policy config are reported at the policy', async () => {
  const issues = await compileIssues(
    yaml(
      'routes:',
      '  - name: a',
      '    match: { path: /a }',
      '    respond: {}',
      '    policies:',
      '      core.nope: true',
      '      core.negotiate: { root: "1bad", extra: 1 }',
    ),
  );
  assert.deepEqual(brief(issues).sort(), [
    `6:7 /routes/0/policies/core.nope unknown policy core.nope (known: ${KNOWN})`,
    '7:25 /routes/0/policies/core.negotiate/root must match pattern "^[A-Za-z_][A-Za-z0-9_.-]*$"',
    '7:39 /routes/0/policies/core.negotiate/extra unknown key',
  ]);
});

test('an unknown policy under defaults.policies is reported there', async () => {
  const issues = await compileIssues(yaml('defaults:', '  policies:', '    core.typo: true'));
  assert.equal(issues.length > 0, true);
  assert.deepEqual(
    [...new Set(brief(issues))],
    [`3:5 /defaults/policies/core.typo unknown policy core.typo (known: ${KNOWN})`],
  );
});

test('a policy name with / or ~ is escaped in the JSON pointer and still located (RFC 6901)', async () => {
  const issues = await compileIssues(
    yaml(
      'routes:',
      '  - name: a',
      '    match: { path: /a }',
      '    respond: {}',
      '    policies:',
      '      a/b~c: true',
    ),
  );
  assert.deepEqual(
    [...new Set(brief(issues))].map((l) => l.split(' ').slice(0, 2).join(' ')),
    ['6:7 /routes/0/policies/a~1b~0c'],
  );
});

test('a valid config compiles', async () => {
  const loaded = await compile(
    yaml(
      'upstreams:',
      '  app: { targets: [http://127.0.0.1:9] }',
      'routes:',
      '  - name: a',
      '    match: { path: /a/* }',
      '    proxy: { upstream: app, stripPrefix: /a }',
      '    policies: { core.negotiate: true, core.tracing: false }',
    ),
  );
  assert.equal(loaded.config.routes.length, 1);
});
