/**
 * `junction start` as a child process, for tests that SIGKILL a gateway and start it again on the
 * same store: an in-process gateway cannot be killed without killing the test. Resolves once the
 * start banner names the listeners; keeps only the last 64 KiB of output (a long run logs a lot, and
 * the pipe must be drained or the child blocks on a full stdout). Killed with SIGKILL after the test
 * if it is still running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { cleanEnv, MAIN, ROOT } from './cli.ts';

export interface ChildGateway {
  child: ChildProcess;
  proxyUrl: string;
  adminUrl: string;
  /** The last 64 KiB of stdout and stderr, for a failure message. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const KEEP = 65_536;

/**
 * @example
 * const gw = await startChildGateway(t, configFile);
 * gw.child.kill('SIGKILL');
 * await gw.exited;
 */
export function startChildGateway(
  t: TestContext,
  configFile: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildGateway> {
  const child = spawn(process.execPath, [MAIN, 'start', '-c', configFile], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env),
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  const keep = (c: Buffer) => {
    out += c;
    if (out.length > 2 * KEEP) out = out.slice(-KEEP);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    let banner = '';
    const onData = (c: Buffer) => {
      banner += c;
      const m = /^junction \S+: proxy (http:\/\/\S+)\s+admin (http:\/\/\S+)$/m.exec(banner);
      if (!m) return;
      child.stdout.off('data', onData);
      resolve({ child, proxyUrl: m[1]!, adminUrl: m[2]!, output: () => out.slice(-KEEP), exited });
    };
    child.stdout.on('data', onData);
    void exited.then(({ code, signal }) =>
      reject(new Error(`gateway exited (${code ?? signal}) before starting:\n${out.slice(-KEEP)}`)),
    );
  });
}
