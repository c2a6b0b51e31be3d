/**
 * Structured JSON logs with pino (STYLE.md §9). Secrets are redacted by path so that a token never
 * reaches a log line even when a whole config or header set is logged.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["proxy-authorization"]',
  'headers["x-api-key"]',
  '*.token',
  '*.secret',
  '*.password',
];

let lastMs = -1;
let lastTime = '';
/** pino's isoTime, formatted once per millisecond: an access log writes many lines per ms under load. */
export function isoTimeField(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
  /**
   * Redact secret paths (default true). The access log turns it off: its fields are a fixed set
   * with no secrets, and path redaction costs on every line.
   */
  redact?: boolean;
}

/**
 * @example
 * const log = createLogger({ level: 'info' });
 * log.info({ requestId }, 'config reloaded');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? { service: 'junction' },
      redact: options.redact === false ? undefined : { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: isoTimeField,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export interface StdoutDestination {
  stream: DestinationStream;
  /** Writes whatever is buffered, synchronously; call before the process exits. */
  flushSync(): void;
  close(): void;
}

/**
 * stdout for pino: lines are encoded at once into a 64 KiB buffer, which goes to sonic-boom (in
 * buffer mode) when full or `flushIntervalMs` after its first line.
 *
 * Measured on the access log (docs/benchmarks.md), three costs of writing line by line: sonic-boom
 * 4.2.1 measures the byte length of its whole pending string on every `write()` (a scan of up to
 * 16 KiB a line); flushing often means an asynchronous write, thread hand-off and completion per
 * flush; and holding the lines as strings until a flush keeps them alive past young-generation
 * collections, which then copy them. Encoding each line straight into a buffer avoids all three.
 * sonic-boom still does the writing (partial writes, EAGAIN, ordering), and every logger writes
 * through this one object, so lines never interleave.
 */
export function stdoutDestination(flushIntervalMs = 100): StdoutDestination {
  const CHUNK = 65_536;
  const sonic = pino.destination({ dest: 1, sync: false, contentMode: 'buffer' });
  let chunk = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (used === 0) return;
    sonic.write(chunk.subarray(0, used) as unknown as string);
    chunk = Buffer.allocUnsafe(CHUNK);
    used = 0;
  };
  const flushSync = () => {
    flush();
    try {
      sonic.flushSync();
    } catch {
      // sonic-boom refuses while its fd is still opening; nothing was written yet then.
    }
  };
  // Whatever is still buffered when the process exits (normally or by process.exit) is written
  // synchronously, so the last lines (the shutdown's own) are never lost.
  process.once('exit', flushSync);
  const stream = {
    /** pino's `logger.flush(cb)` calls this. */
    flush(cb?: (err?: Error) => void) {
      flush();
      sonic.flush(cb ?? (() => {}));
    },
    write(line: string) {
      // UTF-8 needs at most 3 bytes per UTF-16 code unit: if the worst case does not fit, flush first.
      if (used + line.length * 3 > CHUNK) {
        flush();
        if (line.length * 3 > CHUNK) {
          sonic.write(Buffer.from(line) as unknown as string);
          return;
        }
      }
      used += chunk.write(line, used);
      if (timer === undefined) timer = setTimeout(flush, flushIntervalMs).unref();
    },
  };
  return {
    stream,
    flushSync,
    close: () => {
      flush();
      process.off('exit', flushSync);
    },
  };
}

/**
 * A warning that logs at most once per `everyMs`: for a dependency (Redis, the store) that fails on
 * every request during an outage, one line per interval says enough without flooding the log.
 * @example
 * const warn = throttledWarn(services.logger);
 * warn(err, 'cache: redis unavailable');
 */
export function throttledWarn(logger: Logger, everyMs = 10_000): (err: unknown, msg: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (err, msg) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    logger.warn({ err }, msg);
  };
}
