import { defineError } from '../core/errors.ts';

export const RouteNotFound = defineError('route_not_found', 404, 'No route matches the request');
export const MethodNotAllowed = defineError('method_not_allowed', 405, 'Method not allowed on this path');
export const ApiVersionUnknown = defineError('api_version_unknown', 400, 'Unknown API version');
export const ApiVersionRequired = defineError('api_version_required', 400, 'API version required');

// Transport failures map to 502/503/504 here and nowhere else (STYLE.md §5).
export const UpstreamUnreachable = defineError(
  'upstream_unreachable',
  502,
  'Upstream refused or could not be reached',
);
export const UpstreamReset = defineError(
  'upstream_reset',
  502,
  'Upstream closed the connection without a complete response',
);
export const UpstreamBadResponse = defineError(
  'upstream_bad_response',
  502,
  'Upstream sent an invalid response',
);
export const UpstreamConnectTimeout = defineError(
  'upstream_connect_timeout',
  504,
  'Timed out connecting to the upstream',
);
export const UpstreamTimeout = defineError('upstream_timeout', 504, 'Upstream did not answer in time');
export const UpstreamIdleTimeout = defineError(
  'upstream_idle_timeout',
  504,
  'Upstream stopped sending its response',
);
export const WebSocketRefused = defineError(
  'websocket_refused',
  502,
  'Upstream refused the WebSocket upgrade',
);
export const ResponseTooLarge = defineError(
  'response_too_large',
  502,
  'Upstream response too large to convert',
);
export const NoHealthyTarget = defineError('no_healthy_target', 503, 'No healthy upstream target');
export const ShardKeyMissing = defineError('shard_key_missing', 400, 'The request carries no shard key');
export const ShardNotFound = defineError('shard_not_found', 404, 'No shard holds this key');
