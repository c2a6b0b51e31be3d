/**
 * Load generators. wrk is preferred when it is on PATH: it is C, so on a 2-core machine it takes
 * less CPU away from the proxy under test than a Node client does. autocannon is the fallback that
 * is always there (a devDependency); it runs in its own process, never in the harness's.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runToEnd } from './children.ts';

export interface LoadSettings {
  connections: number;
  durationS: number;
  /** Sent with every request (an `Authorization` for the auth peers). */
  headers?: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Responses whose status was not 2xx (wrk counts those >= 400, autocannon those outside 2xx). */
  non2xx: number;
}

export interface LoadGenerator {
  name: 'wrk' | 'autocannon';
  version: string;
  run(url: string, settings: LoadSettings): Promise<LoadResult>;
}

/** wrk when it is on PATH, otherwise autocannon; `prefer` forces one. */
export function pickLoadGenerator(prefer?: string): LoadGenerator {
  if (prefer === 'autocannon') return autocannon();
  const wrkVersion = commandVersion('wrk', ['-v']);
  // `wrk debian/4.1.0-3+b2 [epoll] Copyright …` → `wrk debian/4.1.0-3+b2`
  if (wrkVersion !== undefined) return wrk(wrkVersion.split(' [')[0]!);
  if (prefer === 'wrk') throw new Error('--load wrk given but wrk is not on PATH');
  return autocannon();
}

/** First line a command prints about itself, or undefined when it is not installed. */
export function commandVersion(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  if (result.error) return undefined;
  // wrk -v exits non-zero and nginx -v prints to stderr: the exit code says nothing here.
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0];
}

function wrk(version: string): LoadGenerator {
  return {
    name: 'wrk',
    version,
    async run(url, { connections, durationS, headers }) {
      // One thread: wrk is cheap per request, and a second thread would take a core from the peer.
      const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '5s', '--latency'];
      for (const [name, value] of Object.entries(headers ?? {})) args.push('-H', `${name}: ${value}`);
      args.push(url);
      return parseWrk(await runToEnd('wrk', 'wrk', args));
    },
  };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function wrkMs(text: string, label: string): number {
  const match = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(text);
  if (!match) throw new Error(`wrk output has no ${label} percentile:\n${text}`);
  return Number(match[1]) * (UNIT_MS[match[2]!] ?? Number.NaN);
}

/** Parses `wrk --latency` output (wrk 4.x). */
export function parseWrk(text: string): LoadResult {
  const requests = /^\s*(\d+) requests in/m.exec(text);
  const rps = /^Requests\/sec:\s*([\d.]+)/m.exec(text);
  if (!requests || !rps) throw new Error(`unexpected wrk output:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(text)?.[1] ?? 0);
  return {
    requests: Number(requests[1]),
    rps: Number(rps[1]),
    p50Ms: wrkMs(text, '50%'),
    p99Ms: wrkMs(text, '99%'),
    errors,
    non2xx,
  };
}

interface AutocannonJson {
  duration: number;
  requests: { total: number; average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

function autocannon(): LoadGenerator {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('autocannon/package.json');
  const { version } = require(pkg) as { version: string };
  const script = path.join(path.dirname(pkg), 'autocannon.js');
  return {
    name: 'autocannon',
    version: `autocannon ${version}`,
    async run(url, { connections, durationS, headers }) {
      const args = [script, '--json', '-c', String(connections), '-d', String(durationS), '-t', '5'];
      // `name=value`: autocannon splits at the first `:` or `=`, and a token may contain neither.
      for (const [name, value] of Object.entries(headers ?? {})) args.push('-H', `${name}=${value}`);
      args.push(url);
      const stdout = await runToEnd('autocannon', process.execPath, args);
      const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as AutocannonJson;
      return {
        requests: r.requests.total,
        rps: r.requests.total / r.duration,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
      };
    },
  };
}
