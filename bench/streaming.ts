/**
 * The streaming benchmark: 1 GiB down and 1 GiB up through Junction while its resident memory is
 * sampled every 100 ms. A proxy that streams holds a few chunks per transfer whatever the body size;
 * one that buffers grows by the body size. Target: growth (peak − baseline) under 100 MB each way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { Child } from './lib/children.ts';
import { ROOT, type RunningJunction, startJunction } from './lib/junction.ts';
import { machineInfo, RESULTS_DIR, writeAtomic } from './lib/report.ts';
import { rssBytes, sampleRss } from './lib/rss.ts';

const MB = 1e6;
const MAX_GROWTH_MB = 100;
const CHUNK = Buffer.alloc(64 * 1024, 'client ');

/** `bytes` of generated data; read() is only called when the consumer wants more (backpressure). */
function generated(bytes: number): Readable {
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, CHUNK.length);
      left -= n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

async function download(origin: string, bytes: number): Promise<number> {
  const res = await request(`${origin}/s/download?bytes=${bytes}`, { signal: AbortSignal.timeout(300_000) });
  let received = 0;
  for await (const chunk of res.body) received += (chunk as Buffer).length;
  if (res.statusCode !== 200) throw new Error(`download: status ${res.statusCode}`);
  return received;
}

async function upload(origin: string, bytes: number): Promise<number> {
  const res = await request(`${origin}/s/upload`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
    body: generated(bytes),
    signal: AbortSignal.timeout(300_000),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`upload: status ${res.statusCode}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { bytes: number }).bytes;
}

type Direction = 'download' | 'upload';
const transfer = { download, upload };

async function measure(junction: RunningJunction, direction: Direction, bytes: number) {
  const pid = junction.child.pid!;
  const baselineBytes = rssBytes(pid);
  const sampler = sampleRss(pid);
  const started = performance.now();
  const moved = await transfer[direction](junction.proxyOrigin, bytes);
  const seconds = (performance.now() - started) / 1000;
  const { peakBytes, samples } = sampler.stop();
  if (moved !== bytes) throw new Error(`${direction}: ${moved} bytes arrived, ${bytes} sent`);
  const growthMB = (peakBytes - baselineBytes) / MB;
  return {
    bytes,
    seconds: Number(seconds.toFixed(2)),
    throughputMBps: Number((bytes / MB / seconds).toFixed(1)),
    baselineRssMB: Number((baselineBytes / MB).toFixed(1)),
    peakRssMB: Number((peakBytes / MB).toFixed(1)),
    growthMB: Number(growthMB.toFixed(1)),
    samples,
    verdict: growthMB < MAX_GROWTH_MB ? 'PASS' : 'FAIL',
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { mib: { type: 'string', default: '1024' } } });
  const bytes = Number(values.mib) * 2 ** 20;
  if (!(bytes > 0)) throw new Error('--mib must be a positive number');
  const machine = machineInfo(); // before any load, so its load average is the machine's own
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-streaming-'));
  const upstream = new Child('streaming-upstream', process.execPath, ['bench/streaming-upstream.ts'], {
    cwd: ROOT,
  });
  let junction: RunningJunction | undefined;
  try {
    const origin = `http://127.0.0.1:${await upstream.port()}`;
    const limit = 2 * 2 ** 30;
    junction = await startJunction({
      tmp,
      logLevel: 'warn',
      config: {
        limits: { maxBodyBytes: limit },
        // A 1 GiB upload is answered only once it has all arrived: allow for a slow machine.
        upstreams: { s: { targets: [origin], timeouts: { firstByteMs: 300_000 } } },
        routes: [
          {
            name: 'stream',
            match: { path: '/s/*' },
            proxy: { upstream: 's', stripPrefix: '/s' },
            limits: { maxBodyBytes: limit },
            policies: { 'core.access-log': false, 'core.metrics': false, 'core.tracing': false },
          },
        ],
      },
    });
    const idleRssMB = Number((rssBytes(junction.child.pid!) / MB).toFixed(1));
    // Warm up both paths (JIT, pools, buffers), then let the process settle before the baseline.
    await download(junction.proxyOrigin, 64 * 2 ** 20);
    await upload(junction.proxyOrigin, 64 * 2 ** 20);
    await sleep(1000);
    console.log(
      `junction RSS ${idleRssMB} MB when ready, ${(rssBytes(junction.child.pid!) / MB).toFixed(1)} MB after warmup`,
    );
    const results: Partial<Record<Direction, Awaited<ReturnType<typeof measure>>>> = {};
    for (const direction of ['download', 'upload'] as const) {
      const r = await measure(junction, direction, bytes);
      results[direction] = r;
      console.log(
        `${direction.padEnd(8)} ${r.bytes / 2 ** 20} MiB in ${r.seconds} s (${r.throughputMBps} MB/s); ` +
          `RSS ${r.baselineRssMB} → peak ${r.peakRssMB} MB, growth ${r.growthMB} MB ` +
          `(target < ${MAX_GROWTH_MB}) ${r.verdict}`,
      );
      await sleep(1000);
    }
    const report = {
      kind: 'streaming',
      startedAt: new Date().toISOString(),
      machine,
      settings: { bytes, rssSampleMs: 100, maxGrowthMB: MAX_GROWTH_MB, units: 'MB = 10^6 bytes' },
      junctionPid: junction.child.pid,
      idleRssMB,
      results,
    };
    await writeAtomic(
      path.join(RESULTS_DIR, 'streaming-latest.json'),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    console.log('wrote bench/results/streaming-latest.json');
    return 0;
  } finally {
    await junction?.child.stop();
    await upstream.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}
