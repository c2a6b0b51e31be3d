/**
 * The `junction` CLI as a child process: the pinned Node 24 (`process.execPath`) running
 * src/cli/main.ts, and bin/junction.js under an older system `node`, which must hand over.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { stringify } from 'yaml';
import { startGateway } from '../src/cli/gateway.ts';
import { renderSchema } from '../src/cli/schema.ts';
import { openStore } from '../src/store/index.ts';
import { cleanEnv, MAIN, ROOT, runCli } from './helpers/cli.ts';
import { ADMIN_TOKEN } from './helpers/gateway.ts';
import { startHeldUpstream } from './helpers/upstream.ts';

const BIN = join(ROOT, 'bin/junction.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const run = runCli;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'junction-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A `node` older than 24 on PATH (not the pinned one npx puts first), if this machine has one. */
function olderSystemNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const candidate = join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    return candidate;
  }
  return undefined;
}

async function nodeMajor(node: string): Promise<number> {
  const r = await run(['process.versions.node'], { node, script: '-p' });
  return Number(r.stdout.split('.')[0]);
}

test('--version prints the package.json version', async () => {
  const r = await run(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${VERSION}\n`);
});

test('an unknown option or command is a usage error: exit 2, usage on stderr, no stack trace', async () => {
  for (const args of [['--nope'], ['frobnicate']]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, /Usage:/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('validate exits 0 on a good config', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'good.yaml');
  writeFileSync(file, 'routes:\n  - name: x\n    match: { path: /x }\n    respond: { status: 204 }\n');
  const r = await run(['validate', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${file}: valid (1 routes)\n`);
});

test('validate exits 0 on the commerce demo config', async () => {
  const r = await run(['validate', '-c', 'examples/commerce/junction.yaml']);
  assert.equal(r.code, 0, r.stderr);
});

test('validate exits 1 and lists file:line:col and the JSON path of each mistake', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'listeners:\n  proxy:\n    port: 70000\n    bogus: 1\n');
  const r = await run(['validate', '-c', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `${file}:3:5  /listeners/proxy/port  must be <= 65535\n${file}:4:5  /listeners/proxy/bogus  unknown key\n`,
  );
});

test('validate reports a semantic error (unknown upstream) with its position too', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'routes:\n  - name: x\n    match: { path: /x }\n    proxy: { upstream: ghost }\n');
  const r = await run(['validate', '-c', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${file}:4:14  /routes/0/proxy/upstream  no upstream named ghost (defined: none)\n`);
});

test('validate reads the listener certificate files: a missing one is reported with its path', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'tls.yaml');
  writeFileSync(
    file,
    `listeners:\n  proxy:\n    tls: { cert: ${dir}/no-cert.pem, key: ${dir}/no-key.pem }\n`,
  );
  const r = await run(['validate', '-c', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\/listeners\/proxy\/tls\/cert .*no-cert\.pem/);
});

test('validate of a missing file exits 1 with a one-line message', async (t) => {
  const dir = tempDir(t);
  const r = await run(['validate', '-c', join(dir, 'nope.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^cannot read .*nope\.yaml: ENOENT/);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
});

test('migrate applies the migrations, then reports the store up to date', async (t) => {
  const dir = tempDir(t);
  const env = { JUNCTION_DATABASE_URL: `sqlite:${join(dir, 'x.db')}` };
  // cwd without a junction.yaml: the URL comes from the environment alone.
  const first = await run(['migrate'], { env, cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^applied: \S+/);
  const second = await run(['migrate'], { env, cwd: dir });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, 'store is up to date\n');
});

test('migrate uses store.url from the config file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'j.yaml');
  writeFileSync(file, `store:\n  url: sqlite:${join(dir, 'from-config.db')}\n`);
  const r = await run(['migrate', '-c', file], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^applied: /);
  accessSync(join(dir, 'from-config.db'));
});

test('migrate refuses an invalid config instead of migrating some other database', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'j.yaml');
  writeFileSync(file, `store:\n  ulr: sqlite:${join(dir, 'meant.db')}\n`);
  const r = await run(['migrate', '-c', file], { cwd: dir });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${file}:2:3  /store/ulr  unknown key\n`);
  assert.equal(r.stdout, '');
});

test('schema -o writes the JSON Schema of junction.yaml', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'nested', 's.json');
  const r = await run(['schema', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `wrote ${out}\n`);
  const schema = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown> & {
    properties: Record<string, unknown>;
  };
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(schema.type, 'object');
  assert.equal(schema.additionalProperties, false);
  for (const key of ['listeners', 'upstreams', 'routes', 'admin', 'store'])
    assert.ok(key in schema.properties);
  assert.equal(readFileSync(out, 'utf8'), renderSchema());
});

test('the committed schema/junction.schema.json is what renderSchema() produces now (run `npm run schema`)', () => {
  assert.equal(readFileSync(join(ROOT, 'schema/junction.schema.json'), 'utf8'), renderSchema());
});

/** Reads a child's stdout until the start banner; returns the URLs in it. */
function waitForBanner(
  child: ChildProcess,
  output: { stdout: string },
): Promise<{ proxy: string; admin: string }> {
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = /^junction (\S+): proxy (http:\/\/\S+)\s+admin (http:\/\/\S+)$/m.exec(output.stdout);
      if (!m) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      assert.equal(m[1], VERSION);
      resolve({ proxy: m[2]!, admin: m[3]! });
    };
    const onExit = (code: number | null) =>
      reject(new Error(`exited ${code} before starting:\n${output.stdout}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Resolves once a new TCP connection to `url` is refused (polls; the caller's test timeout bounds it). */
async function untilRefused(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), hostname);
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts `junction start` on a config whose `/slow` route goes to an upstream that holds each
 * request until the test releases it; returns what a drain test needs.
 */
async function startCli(t: TestContext, launcher: { node: string; script: string }) {
  const { up, arrival, release } = await startHeldUpstream(t);
  const dir = tempDir(t);
  const file = join(dir, 'junction.yaml');
  writeFileSync(
    file,
    stringify({
      listeners: { proxy: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
      admin: { token: ADMIN_TOKEN },
      store: { url: `sqlite:${join(dir, 'j.db')}` },
      reload: { watch: false },
      shutdown: { drainTimeoutMs: 30_000 },
      upstreams: { slow: { targets: [up.url] } },
      routes: [{ name: 'slow', match: { path: '/slow' }, proxy: { upstream: 'slow' } }],
    }),
  );
  const child = spawn(launcher.node, [launcher.script, 'start', '-c', file], { cwd: dir, env: cleanEnv() });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => {
    output.stdout += c;
  });
  child.stderr.on('data', (c: Buffer) => {
    output.stderr += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gatewayPid: number | undefined;
  t.after(async () => {
    // Only if the test failed midway: end what it started.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (gatewayPid !== undefined && gatewayPid !== child.pid) {
      try {
        process.kill(gatewayPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  const urls = await waitForBanner(child, output);
  const nodes = (await (
    await fetch(`${urls.admin}/admin/v1/nodes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  ).json()) as { data: { pid: number }[] };
  gatewayPid = nodes.data[0]!.pid;
  return { child, urls, output, exited, arrival, release, gatewayPid, upstream: up };
}

/** The drain contract of `junction start`: in-flight finishes, new connections refused, exit 0. */
async function assertDrainsOnSigterm(cli: Awaited<ReturnType<typeof startCli>>): Promise<void> {
  const inflight = fetch(`${cli.urls.proxy}/slow`).then(async (res) => ({
    status: res.status,
    body: await res.text(),
  }));
  await cli.arrival;
  assert.equal(cli.child.kill('SIGTERM'), true);
  await untilRefused(cli.urls.proxy);
  // The request is still held upstream; the gateway must still be waiting for it.
  assert.equal(cli.child.exitCode, null);
  cli.release('finished after SIGTERM');
  assert.deepEqual(await inflight, { status: 200, body: 'finished after SIGTERM' });
  assert.deepEqual(await cli.exited, { code: 0, signal: null });
  const logs = cli.output.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; drained?: boolean });
  assert.ok(
    logs.some((l) => l.msg === 'stopped' && l.drained === true),
    `no "stopped" log line:\n${cli.output.stdout}`,
  );
}

test('start with an invalid config exits 1 listing the issues', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'listeners:\n  proxy: { port: 0, bogus: 1 }\n');
  const r = await run(['start', '-c', file], { cwd: dir });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${file}:2:21  /listeners/proxy/bogus  unknown key\n`);
});

test('start exits 1 when the admin port is taken, instead of hanging on the proxy listener', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const port = (taken.address() as AddressInfo).port;
  const dir = tempDir(t);
  const file = join(dir, 'j.yaml');
  writeFileSync(
    file,
    stringify({
      listeners: { proxy: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port } },
      admin: { token: ADMIN_TOKEN },
      store: { url: `sqlite:${join(dir, 'j.db')}` },
      reload: { watch: false },
    }),
  );
  const r = await run(['start', '-c', file], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /EADDRINUSE/);
});

test('a gateway that fails to start gives back its node id lease', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'j.yaml');
  const dbUrl = `sqlite:${join(dir, 'j.db')}`;
  writeFileSync(
    file,
    stringify({
      listeners: { proxy: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
      admin: { token: ADMIN_TOKEN },
      store: { url: dbUrl },
      reload: { watch: false },
      // Valid for the schema; refused when the runtime compiles.
      routes: [{ name: 'r', match: { path: '/r' }, proxy: { upstream: 'ghost' } }],
    }),
  );
  const env = { JUNCTION_DATABASE_URL: '', JUNCTION_ADMIN_TOKEN: '' };
  const sink = new PassThrough();
  sink.resume();
  await assert.rejects(startGateway({ configFile: file, env, logDestination: sink }), {
    code: 'config_invalid',
  });
  const store = await openStore({ url: dbUrl, env });
  t.after(() => store.close());
  assert.deepEqual(await store.nodes.list(), []);
});

test('start serves, and SIGTERM drains: in-flight completes, new connections refused, exit 0', async (t) => {
  const cli = await startCli(t, { node: process.execPath, script: MAIN });
  await assertDrainsOnSigterm(cli);
});

test('bin/junction.js --version works under an older system node (hands over to the pinned Node 24)', async (t) => {
  const node = olderSystemNode();
  if (node === undefined || (await nodeMajor(node)) >= 24) {
    t.skip('no node older than 24 on PATH');
    return;
  }
  const r = await run(['--version'], { node, script: BIN });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${VERSION}\n`);
});

test('bin/junction.js under an older node passes SIGTERM on: the gateway drains and both exit 0', async (t) => {
  const node = olderSystemNode();
  if (node === undefined || (await nodeMajor(node)) >= 24) {
    t.skip('no node older than 24 on PATH');
    return;
  }
  const cli = await startCli(t, { node, script: BIN });
  assert.notEqual(cli.gatewayPid, cli.child.pid, 'the gateway runs in a child of the wrapper');
  await assertDrainsOnSigterm(cli);
});

test('bin/junction.js exits with the CLI exit code', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'bogus: 1\n');
  const node = olderSystemNode() ?? process.execPath;
  const r = await run(['validate', '-c', file], { node, script: BIN });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${file}:1:1  /bogus  unknown key\n`);
});
