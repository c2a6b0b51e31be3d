/**
 * Several `junction start` processes, as an operator runs a cluster: each its own process, config
 * file and SQLite store, all sharing what the config shares (Redis). Started in parallel; each
 * resolves once its start banner names its ports; all are stopped by `t.after`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ADMIN_TOKEN } from './gateway.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface ClusterNode {
  proxy: string;
  admin: string;
  child: ChildProcess;
}

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  for (const k of [
    'JUNCTION_DATABASE_URL',
    'JUNCTION_ADMIN_TOKEN',
    'JUNCTION_REDIS_URL',
    'NODE_OPTIONS',
    'NODE_TEST_CONTEXT',
  ])
    delete e[k];
  return e;
}

function startNode(t: TestContext, dir: string, config: Record<string, unknown>): Promise<ClusterNode> {
  const file = join(dir, 'junction.yaml');
  writeFileSync(
    file,
    stringify({
      listeners: { proxy: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
      admin: { token: ADMIN_TOKEN },
      store: { url: `sqlite:${join(dir, 'junction.db')}` },
      reload: { watch: false },
      observability: { logLevel: 'warn' },
      ...config,
    }),
  );
  const child = spawn(process.execPath, [MAIN, 'start', '-c', file], { cwd: dir, env: env() });
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      stdout += c;
      const m = /^junction \S+: proxy (http:\/\/\S+)\s+admin (http:\/\/\S+)$/m.exec(stdout);
      if (!m) return;
      // Keep draining stdout (log lines) so the child never blocks on a full pipe.
      stdout = '';
      child.stdout.off('data', onData);
      child.stdout.resume();
      child.off('exit', onExit);
      resolve({ proxy: m[1]!, admin: m[2]!, child });
    };
    const onExit = (code: number | null) => reject(new Error(`node exited ${code}:\n${stdout}\n${stderr}`));
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

export async function startCluster(
  t: TestContext,
  n: number,
  config: Record<string, unknown>,
): Promise<ClusterNode[]> {
  const dirs = Array.from({ length: n }, () => mkdtempSync(join(tmpdir(), 'junction-cluster-')));
  const nodes = dirs.map((d) => startNode(t, d, config));
  // Registered after each node's stop hook, so it runs once they have exited.
  t.after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return Promise.all(nodes);
}
