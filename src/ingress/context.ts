import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ContextSlots, RequestContext, TraceInfo } from '../core/policy.ts';

/** The per-request context (a class: one shape for V8, fields set once in the constructor). */
export class Context implements RequestContext {
  readonly id: string;
  readonly req: IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly host: string;
  readonly headers: IncomingHttpHeaders;
  readonly clientIp: string;
  readonly peerIp: string;
  readonly protocol: 'http' | 'https';
  routeName = '';
  params: Readonly<Record<string, string>> = EMPTY;
  version: string | undefined = undefined;
  versionPrefix: string | undefined = undefined;
  readonly startedAt: number;
  readonly upstreamHeaders: Record<string, string> = {};
  readonly responseHeaders: Record<string, string> = {};
  trace: TraceInfo | undefined = undefined;
  readonly slots: Partial<ContextSlots> = {};
  /** Filled by the handler for the access log and metrics. */
  upstream: string | undefined = undefined;
  target: string | undefined = undefined;
  errorCode: string | undefined = undefined;
  bytesIn = 0;
  bytesOut = 0;
  /** Called first when the response closes (finished or the client left); set by the handler. */
  onClose: (() => void) | undefined = undefined;

  constructor(
    id: string,
    req: IncomingMessage,
    url: string,
    peerIp: string,
    clientIp: string,
    protocol: 'http' | 'https',
    startedAt: number,
  ) {
    this.id = id;
    this.req = req;
    this.method = req.method ?? 'GET';
    const q = url.indexOf('?');
    this.path = q === -1 ? url : url.slice(0, q);
    this.query = q === -1 ? '' : url.slice(q);
    this.headers = req.headers;
    this.host = req.headers.host ?? '';
    this.peerIp = peerIp;
    this.clientIp = clientIp;
    this.protocol = protocol;
    this.startedAt = startedAt;
  }
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});
