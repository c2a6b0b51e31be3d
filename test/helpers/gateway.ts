/**
 * Test harness: a real gateway on 127.0.0.1 port 0 with its own temp dir, SQLite file and captured
 * logs; closed by `t.after`. Configs are YAML text or plain objects (written as YAML).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { type Gateway, startGateway } from '../../src/cli/gateway.ts';

export interface TestGateway {
  gateway: Gateway;
  /** `http://127.0.0.1:<port><path>` on the proxy listener. */
  url(path?: string): string;
  /** Same on the admin listener. */
  adminUrl(path?: string): string;
  /** `Authorization` header for the admin API. */
  auth: { authorization: string };
  configFile: string;
  dir: string;
  /** Every log line so far, parsed. */
  logs(): Record<string, unknown>[];
  /** Rewrites the config file (for reload tests). */
  writeConfig(config: string | Record<string, unknown>): void;
}

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

function toYaml(config: string | Record<string, unknown>): string {
  return typeof config === 'string' ? config : stringify(config);
}

/** Defaults every test config gets unless it sets them: quiet ports, own store, no file watching. */
export function withTestDefaults(config: Record<string, unknown>, dir: string): Record<string, unknown> {
  return {
    listeners: { proxy: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
    admin: { token: ADMIN_TOKEN },
    store: { url: `sqlite:${join(dir, 'junction.db')}` },
    reload: { watch: false },
    ...config,
  };
}

export async function startTestGateway(
  t: TestContext,
  config: string | Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-test-'));
  const configFile = join(dir, 'junction.yaml');
  const write = (c: string | Record<string, unknown>) =>
    writeFileSync(configFile, toYaml(typeof c === 'string' ? c : withTestDefaults(c, dir)));
  write(config);
  const lines: Record<string, unknown>[] = [];
  const sink = new PassThrough();
  let buffered = '';
  sink.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl = buffered.indexOf('\n');
    while (nl !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      nl = buffered.indexOf('\n');
    }
  });
  const env = { ...process.env, JUNCTION_ADMIN_TOKEN: '', JUNCTION_DATABASE_URL: '', ...options.env };
  const gateway = await startGateway({ configFile, env, logDestination: sink });
  t.after(async () => {
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    gateway,
    url: (path = '/') => gateway.proxyUrl + path,
    adminUrl: (path = '/') => gateway.adminUrl + path,
    auth: { authorization: `Bearer ${gateway.adminToken}` },
    configFile,
    dir,
    logs: () => lines,
    writeConfig: write,
  };
}
