/**
 * Resident memory of a process and its descendants, read from /proc (Linux only), sampled on an
 * interval. VmRSS is what the kernel holds in RAM for the process: a proxy that buffers a body
 * instead of streaming it shows up here, whatever its heap statistics say.
 */
import { readFileSync } from 'node:fs';

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
}

/** `pid` and everything it forked: the CLI might run the proxy in a worker process. */
function tree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(children === '' ? [] : children.split(/\s+/).map(Number).flatMap(tree))];
  } catch {
    return [pid];
  }
}

/** Bytes resident for `pid` and its descendants right now. */
export function rssBytes(pid: number): number {
  let kib = 0;
  for (const p of tree(pid)) {
    try {
      kib += rssKiB(p);
    } catch {
      // A process that exited between listing and reading holds nothing any more.
    }
  }
  return kib * 1024;
}

export interface RssSampler {
  /** Stops sampling and returns the peak and the number of samples taken. */
  stop(): { peakBytes: number; samples: number };
}

export function sampleRss(pid: number, intervalMs = 100): RssSampler {
  let peakBytes = rssBytes(pid);
  let samples = 1;
  const timer = setInterval(() => {
    peakBytes = Math.max(peakBytes, rssBytes(pid));
    samples++;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peakBytes = Math.max(peakBytes, rssBytes(pid));
      return { peakBytes, samples: samples + 1 };
    },
  };
}
