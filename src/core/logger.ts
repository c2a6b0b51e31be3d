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
function isoTimeCached(): string {
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
      timestamp: isoTimeCached,
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
 * stdout in 16 KiB batches, flushed at least every `flushIntervalMs`. One `write(2)` per log line
 * is most of what an access log costs at thousands of requests a second (docs/benchmarks.md); a
 * batch turns dozens of lines into one write, and the timer bounds how long a line can wait when
 * traffic is light.
 */
export function stdoutDestination(flushIntervalMs = 250): StdoutDestination {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 16_384 });
  const timer = setInterval(() => {
    // sonic-boom refuses to flush while its first write is still opening the fd; nothing to do then.
    try {
      stream.flush();
    } catch {}
  }, flushIntervalMs);
  timer.unref();
  return {
    stream,
    flushSync: () => {
      try {
        stream.flushSync();
      } catch {}
    },
    close: () => clearInterval(timer),
  };
}
