/**
 * `npm start` for tests: examples/commerce/start.ts on free ports, with its own store and PKI
 * directory, stopped (SIGTERM, so the gateway drains) and cleaned up when the test ends. Used by
 * test/demo-identity.test.ts (fetch), test/browser-login.test.ts (Chromium), test/demo-events.test.ts
 * and test/demo-webhooks.test.ts.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { claimPort } from './ports.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CONFIG = 'examples/commerce/junction.yaml';

/** The fixed-offset zone in which it is `hour`:xx now, so "before 18:00" holds whenever the test runs. */
export function zoneWhereItIs(hour: number): string {
  const zones = ['Etc/GMT', ...Array.from({ length: 12 }, (_, i) => `Etc/GMT+${i + 1}`)];
  zones.push(...Array.from({ length: 14 }, (_, i) => `Etc/GMT-${i + 1}`));
  const now = new Date();
  const at = (timeZone: string) =>
    Number(new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' }).format(now));
  const zone = zones.find((z) => at(z) === hour);
  assert.ok(zone, `no zone at ${hour}h`);
  return zone;
}

// receiver: Acme's webhook receiver (outbound webhooks), started by start.ts after the gateway.
const SERVICES = ['users', 'orders', 'products', 'partner', 'slow', 'payments', 'receiver'] as const;
const IDENTITY = ['oidc', 'web', 'inventory', 'staff'] as const;
export type DemoPort = 'proxy' | 'admin' | (typeof SERVICES)[number] | (typeof IDENTITY)[number];

export interface RunningDemo {
  /** The gateway as a browser reaches it: http://localhost:<proxy port>. */
  gw: string;
  ports: Record<DemoPort, number>;
  /** The demo's environment, for the README's other commands (`npm run junction …`). */
  env: NodeJS.ProcessEnv;
  /** The demo's store and PKI (`pki/`) directory. */
  data: string;
}

/**
 * Starts the demo and waits for its banner; `t.after` stops it. It takes 5–10 s.
 * @example
 * const demo = await startDemo(t, 'demo-identity');
 * await fetch(`${demo.gw}/shop`, { headers: { accept: 'text/html' } }); // 302 to /auth/login
 */
export async function startDemo(
  t: TestContext,
  name: string,
  /** More environment for the demo (DEMO_SHIPMENTS_TICK_MS, …). */
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<RunningDemo> {
  const ports = Object.fromEntries(
    await Promise.all(
      (['proxy', 'admin', ...SERVICES, ...IDENTITY] as const).map(
        async (n) => [n, await claimPort()] as const,
      ),
    ),
  ) as Record<DemoPort, number>;
  const data = mkdtempSync(join(tmpdir(), `junction-${name}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUNCTION_PROXY_PORT: String(ports.proxy),
    JUNCTION_ADMIN_PORT: String(ports.admin),
    JUNCTION_DATABASE_URL: `sqlite:${join(data, 'junction.db')}`,
    JUNCTION_ADMIN_TOKEN: '',
    DEMO_PKI_DIR: join(data, 'pki'),
    DEMO_TIME_ZONE: zoneWhereItIs(10),
    NODE_TEST_CONTEXT: undefined,
    ...extraEnv,
  };
  for (const n of [...SERVICES, ...IDENTITY]) env[`DEMO_${n.toUpperCase()}_PORT`] = String(ports[n]);

  const child: ChildProcess = spawn(process.execPath, ['examples/commerce/start.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM drains the gateway; its store and PKI go once it has let go of them.
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    rmSync(data, { recursive: true, force: true });
  });
  let out = '';
  child.stderr!.on('data', (c: Buffer) => {
    out += c;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      if (out.includes('Junction commerce demo')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`demo exited with ${code}: ${out}`)));
  });
  // localhost, as the README says: the provider's registered redirect URI, and a secure context for
  // the __Host- cookies in a real browser.
  return { gw: `http://localhost:${ports.proxy}`, ports, env, data };
}

/**
 * Polls `check` until it returns something other than undefined or false; fails after `timeoutMs`
 * (generous: a loaded 2-core machine delays timers and the gateway's worker).
 * @example
 * const order = await waitFor('ord_1001 paid', async () => { const o = await get(); return o.status === 'paid' && o; });
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs `npm run junction -- <args>` as the README does (src/cli/main.ts in the demo's environment,
 * from the repository root, so `-c examples/commerce/junction.yaml` reaches the demo's store).
 */
export function junction(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/main.ts', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
