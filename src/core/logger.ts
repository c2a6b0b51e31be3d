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
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
