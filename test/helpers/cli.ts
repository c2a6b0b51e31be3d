/** Runs the `junction` CLI as a child process, as a user's shell would, and collects what it prints. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = join(ROOT, 'src/cli/main.ts');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Another Node binary (an older system Node, for bin/junction.js). */
  node?: string;
  /** Another entry point than src/cli/main.ts. */
  script?: string;
  /** Added to the cleaned environment; a key named here is kept even if it is one cleanEnv drops. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** The environment without the overrides a developer's shell (or the test runner) may carry. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const k of ['JUNCTION_DATABASE_URL', 'JUNCTION_ADMIN_TOKEN', 'NODE_OPTIONS', 'NODE_TEST_CONTEXT']) {
    if (!(k in extra)) delete env[k];
  }
  return env;
}

/**
 * @example
 * const r = await runCli(['validate', '-c', file]);
 * assert.equal(r.code, 0, r.stderr);
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.node ?? process.execPath, [options.script ?? MAIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: cleanEnv(options.env),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    // A CLI that hangs fails its test instead of holding the whole file open.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
