/**
 * Child processes of the benchmark. Every upstream, peer and load generator runs in its own process
 * so none shares an event loop with the harness or with another: a proxy measured while sharing a loop
 * with its load generator measures the generator.
 *
 * Each child leads its own process group (`detached`), so ending the group also ends what it forked
 * (nginx's worker). Whatever is still running is killed when the harness exits, throws or is
 * interrupted, so a failed run never leaves a server holding a port or a core.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set<Child>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' also fires after an uncaught exception; only synchronous work is possible there.
  process.on('exit', () => {
    for (const child of live) child.signal('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)\n`);
      process.exit(130);
    });
  }
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout goes: piped to the harness (default), or an open file descriptor. */
  stdout?: 'pipe' | number;
}

export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has gone. */
  readonly exited: Promise<number | string>;
  #stdout = '';
  #stderr = '';

  constructor(name: string, command: string, args: string[], options: StartOptions = {}) {
    installExitHooks();
    this.name = name;
    this.proc = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
    });
    live.add(this);
    this.proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
      this.#stdout += s;
    });
    // Only the tail of stderr is kept: it is for explaining a failure, not for logging.
    this.proc.stderr?.setEncoding('utf8').on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('error', (err) => {
        this.#stderr += `\n${err.message}`;
        live.delete(this);
        resolve('spawn-error');
      });
      this.proc.once('exit', (code, signal) => {
        live.delete(this);
        resolve(code ?? signal ?? 'unknown');
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get stdout(): string {
    return this.#stdout;
  }

  get running(): boolean {
    return live.has(this);
  }

  /** The last lines of stderr, for error messages. */
  stderrTail(lines = 15): string {
    return this.#stderr.trim().split('\n').slice(-lines).join('\n');
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running || this.pid === undefined) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      this.proc.kill(sig);
    }
  }

  /** SIGTERM the group, then SIGKILL it if it has not gone within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const gone = await Promise.race([this.exited.then(() => true), sleep(graceMs, false)]);
    if (!gone) {
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  /** Rejects (with stderr) if the process exits before `promise` settles. */
  async whileRunning<T>(promise: Promise<T>): Promise<T> {
    const died = this.exited.then((code) => {
      throw new Error(`${this.name} exited (${code}) before it was ready:\n${this.stderrTail()}`);
    });
    return Promise.race([promise, died]);
  }

  /** Waits for a `{"port":N}` line on stdout: how the bench's own servers report a port 0 bind. */
  async port(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const poll = async (): Promise<number> => {
      while (Date.now() < deadline) {
        const match = /^\{"port":(\d+)\}$/m.exec(this.#stdout);
        if (match) return Number(match[1]);
        await sleep(20);
      }
      throw new Error(`${this.name} reported no port within ${timeoutMs} ms:\n${this.stderrTail()}`);
    };
    return this.whileRunning(poll());
  }
}

/** Runs a command to completion and returns its stdout; rejects with stderr on a non-zero exit. */
export async function runToEnd(name: string, command: string, args: string[]): Promise<string> {
  const child = new Child(name, command, args);
  const code = await child.exited;
  if (code !== 0) throw new Error(`${name} exited (${code}):\n${child.stderrTail()}`);
  return child.stdout;
}

/** A port that was free a moment ago: bind port 0, read what the kernel chose, close. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
  return address.port;
}

/** Polls `url` until it answers `status`, or fails after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number, status = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (${last})`);
}
