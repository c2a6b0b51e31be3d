/**
 * Load generators. wrk is preferred when it is on PATH: it is C, so on a 2-core machine it takes
 * less CPU away from the proxy under test than a Node client does. autocannon is the fallback that
 * is always there (a devDependency); it runs in its own process, never in the harness's.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { runToEnd } from './children.ts';

export interface LoadSettings {
  connections: number;
  durationS: number;
  /** Sent with every request (an `Authorization` for the auth peers). */
  headers?: Record<string, string>;
  /** `GET` by default. */
  method?: string;
  /** Sent with every request (give its `content-type` in `headers`). */
  body?: string;
  /** A header sent with a value unique to each request of the run (an `Idempotency-Key`). */
  uniqueHeader?: string;
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

/** Several runs of one route as one: requests and errors summed, mean rate (runs of equal length), worst p50/p99. */
export function combine(rs: LoadResult[]): LoadResult {
  const sum = (f: (r: LoadResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  return {
    requests: sum((r) => r.requests),
    rps: sum((r) => r.rps) / rs.length,
    p50Ms: Math.max(...rs.map((r) => r.p50Ms)),
    p99Ms: Math.max(...rs.map((r) => r.p99Ms)),
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
  };
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
    async run(url, settings) {
      const { connections, durationS, headers } = settings;
      // One thread: wrk is cheap per request, and a second thread would take a core from the peer.
      const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '5s', '--latency'];
      if (
        settings.method === undefined &&
        settings.body === undefined &&
        settings.uniqueHeader === undefined
      ) {
        for (const [name, value] of Object.entries(headers ?? {})) args.push('-H', `${name}: ${value}`);
        args.push(url);
        return parseWrk(await runToEnd('wrk', 'wrk', args));
      }
      // A method, a body or a per-request header need a Lua script.
      const dir = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-wrk-'));
      try {
        const script = path.join(dir, 'request.lua');
        await writeFile(script, wrkScript(settings));
        // The unique values' prefix: fresh for every run, so no two runs send the same value.
        args.push('-s', script, url, '--', randomBytes(8).toString('hex'));
        const out = await runToEnd('wrk', 'wrk', args);
        if (!out.includes(SCRIPT_RAN)) throw new Error(`wrk did not run its Lua script:\n${out}`);
        return parseWrk(out);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A Lua string literal: bytes other than letters, digits and a few safe marks as `\ddd` escapes. */
function luaString(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9 _.:/-]/.test(c) ? c : `\\${String(byte).padStart(3, '0')}`;
  }
  return `"${out}"`;
}

/** What the script's `done()` prints: wrk runs plain GETs when a script fails to load, exit code 0. */
const SCRIPT_RAN = 'junction-bench: script ran';

/**
 * The wrk script for {@link LoadSettings} with a method, body or unique header. Every request goes
 * through `request()`, with or without the unique header, so runs that differ only by that header
 * cost wrk the same. The values are `<run prefix>-<counter>` (one thread: one counter).
 */
export function wrkScript({ method, body, headers, uniqueHeader }: LoadSettings): string {
  const lines = [`wrk.method = ${luaString(method ?? 'GET')}`];
  if (body !== undefined) lines.push(`wrk.body = ${luaString(body)}`);
  for (const [name, value] of Object.entries(headers ?? {}))
    lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  lines.push(
    'local prefix = ""',
    'local n = 0',
    'function init(args) prefix = args[1] or "" end',
    'function request()',
    '  n = n + 1',
    uniqueHeader === undefined ? '' : `  wrk.headers[${luaString(uniqueHeader)}] = prefix .. "-" .. n`,
    '  return wrk.format()',
    'end',
    `function done() io.write("${SCRIPT_RAN}\\n") end`,
  );
  return `${lines.filter((l) => l !== '').join('\n')}\n`;
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
    async run(url, { connections, durationS, headers, method, body, uniqueHeader }) {
      const args = [script, '--json', '-c', String(connections), '-d', String(durationS), '-t', '5'];
      // `name=value`: autocannon splits at the first `:` or `=`, and a token may contain neither.
      for (const [name, value] of Object.entries(headers ?? {})) args.push('-H', `${name}=${value}`);
      if (method !== undefined) args.push('-m', method);
      if (body !== undefined) args.push('-b', body);
      // -I rebuilds every request, replacing `[<id>]` with a fresh hyperid; given for every POST run
      // so runs that differ only by the header cost autocannon the same. The value must not end in
      // `]`, or autocannon's argument parser (subarg) takes it for the end of a sub-argument.
      if (uniqueHeader !== undefined) args.push('-H', `${uniqueHeader}=k-[<id>]-k`);
      if (method !== undefined || body !== undefined || uniqueHeader !== undefined) args.push('-I');
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
