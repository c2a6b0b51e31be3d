/**
 * The one place where transport failures become answers (STYLE.md §5): undici and socket error
 * codes → 502 (could not get a valid response), 504 (did not get one in time).
 * Codes from undici's `errors.js` ("match on code", not on classes or messages).
 */
import { Internal, isJunctionError, JunctionError } from '../core/errors.ts';
import {
  UpstreamBadResponse,
  UpstreamConnectTimeout,
  UpstreamIdleTimeout,
  UpstreamReset,
  UpstreamTimeout,
  UpstreamUnreachable,
} from './errors.ts';

export function transportError(err: unknown, upstream: string): JunctionError {
  if (isJunctionError(err)) return err;
  const code = (err as { code?: string } | null)?.code;
  const opts = { cause: err, extensions: { upstream } };
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new JunctionError(UpstreamConnectTimeout, `connecting to ${upstream} timed out`, opts);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new JunctionError(UpstreamTimeout, `${upstream} sent no response headers in time`, opts);
    case 'UND_ERR_BODY_TIMEOUT':
      return new JunctionError(UpstreamIdleTimeout, `${upstream} paused its response too long`, opts);
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
      return new JunctionError(UpstreamUnreachable, `${upstream} could not be reached (${code})`, opts);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new JunctionError(UpstreamReset, `${upstream} closed the connection`, opts);
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      // undici refusing what the gateway asked of it is the gateway's bug, not the upstream's:
      // answering 502 upstream_reset would send operators after a healthy upstream.
      return new JunctionError(Internal, undefined, opts);
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_STATUS':
    case 'HPE_INVALID_VERSION':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_INFO':
      return new JunctionError(UpstreamBadResponse, `${upstream} sent an invalid response`, opts);
    default:
      if (typeof code === 'string' && code.startsWith('HPE_')) {
        return new JunctionError(UpstreamBadResponse, `${upstream} sent an invalid response`, opts);
      }
      return new JunctionError(UpstreamReset, `${upstream} failed: ${code ?? 'unknown error'}`, opts);
  }
}
