/**
 * TLS material for both sides of the gateway (Q15), read from the PEM files the config names:
 *
 * - the proxy listener: server certificate and key, and for mutual TLS the client CA bundle with
 *   `requestCert` / `rejectUnauthorized` (RFC 8446 §4.3.2 CertificateRequest; the chain is verified
 *   per RFC 5280 §6 by OpenSSL during the handshake);
 * - each upstream: the CAs to trust, the client certificate to present, the name to verify.
 *
 * Files are read when a config is compiled (start and every reload), so a reload picks up rotated
 * certificates. A file that is missing, unreadable or not PEM is a config error naming both the
 * config path and the file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type ConnectionOptions,
  createSecureContext,
  type SecureContextOptions,
  type SecureVersion,
} from 'node:tls';
import { ConfigInvalid, type ConfigIssue } from '../config/errors.ts';
import { formatIssues, type LoadedConfig } from '../config/loader.ts';
import type { UpstreamConfig } from '../config/schema.ts';
import { JunctionError } from '../core/errors.ts';

/** What `https.createServer` and `server.setSecureContext` take for the proxy listener. */
export interface ListenerTlsOptions {
  cert: string;
  key: string;
  ca: string | undefined;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  minVersion: SecureVersion;
}

/**
 * The proxy listener's TLS options, or undefined when `listeners.proxy.tls` is not set.
 * Throws `config_invalid` with file, line and path for each problem.
 *
 * @example
 * const tls = listenerTls(loaded); // { cert, key, ca, requestCert, rejectUnauthorized, minVersion }
 * const server = tls ? https.createServer({ ...tls }) : http.createServer();
 */
export function listenerTls(loaded: LoadedConfig): ListenerTlsOptions | undefined {
  const tls = loaded.config.listeners.proxy.tls;
  if (tls === undefined) return undefined;
  const base = '/listeners/proxy/tls';
  const issues: ConfigIssue[] = [];
  const issue = (path: string, message: string) =>
    issues.push({ file: loaded.file, ...loaded.locate(path), path, message });
  const read = (key: 'cert' | 'key' | 'ca', file: string) =>
    readPem(file, (message) => issue(`${base}/${key}`, message));

  const cert = read('cert', tls.cert);
  const key = read('key', tls.key);
  const ca = tls.ca === undefined ? undefined : read('ca', tls.ca);
  const requestCert = tls.requestCert ?? tls.ca !== undefined;
  // Without a CA bundle Node would verify client certificates against the public web roots, which
  // is never what an internal mTLS setup means.
  if (requestCert && tls.ca === undefined)
    issue(`${base}/requestCert`, 'asking for client certificates needs ca (the CAs that issue them)');
  if (tls.rejectUnauthorized === true && !requestCert)
    issue(`${base}/rejectUnauthorized`, 'rejectUnauthorized needs requestCert (or ca)');
  const options: ListenerTlsOptions = {
    cert: cert ?? '',
    key: key ?? '',
    ca,
    requestCert,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    minVersion: tls.minVersion,
  };
  if (issues.length === 0) {
    const problem = contextProblem(options);
    if (problem !== undefined) issue(base, problem);
  }
  if (issues.length > 0)
    throw new JunctionError(ConfigInvalid, formatIssues(issues), { extensions: { issues } });
  return options;
}

/** TLS options for an upstream's connector, and a key that changes when any of them does. */
export interface UpstreamTls {
  options: ConnectionOptions;
  /** Hash of the options and file contents: pools are rebuilt on reload when it changes. */
  key: string;
}

const upstreamMemo = new WeakMap<object, UpstreamTls>();

/**
 * The connector options of `upstreams.<name>.tls`, or undefined when it is not set. Read once per
 * loaded config (memoized on the config object). Throws `config_invalid` naming the config path and
 * the file.
 *
 * @example
 * const tls = upstreamTls('billing', config.upstreams.billing);
 * const connect = buildConnector({ timeout: 2000, ...tls?.options });
 */
export function upstreamTls(name: string, config: UpstreamConfig): UpstreamTls | undefined {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  const known = upstreamMemo.get(tls);
  if (known !== undefined) return known;
  const base = `/upstreams/${name}/tls`;
  const problems: string[] = [];
  const problem = (path: string, message: string) => problems.push(`${path}  ${message}`);
  const read = (key: 'ca' | 'cert' | 'key') => {
    const file = tls[key];
    return file === undefined ? undefined : readPem(file, (m) => problem(`${base}/${key}`, m));
  };
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  if ((tls.cert === undefined) !== (tls.key === undefined))
    problem(base, 'cert and key go together: set both to present a client certificate, or neither');
  config.targets.forEach((t, i) => {
    const url = typeof t === 'string' ? t : t.url;
    if (!url.startsWith('https://'))
      problem(`/upstreams/${name}/targets/${i}`, `tls applies to https:// targets only, not ${url}`);
  });
  const options: ConnectionOptions = {
    ca,
    cert,
    key,
    servername: tls.servername,
    rejectUnauthorized: tls.rejectUnauthorized,
    minVersion: tls.minVersion,
  };
  if (problems.length === 0 && (cert !== undefined || ca !== undefined)) {
    const message = contextProblem(options);
    if (message !== undefined) problem(base, message);
  }
  if (problems.length > 0) throw new JunctionError(ConfigInvalid, problems.join('\n'));
  const hash = createHash('sha256').update(JSON.stringify(options)).digest('base64url');
  const result = { options, key: hash };
  upstreamMemo.set(tls, result);
  return result;
}

/** Contents of a PEM file, or undefined after reporting why it cannot be used. */
function readPem(file: string, report: (message: string) => void): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    report(`cannot read ${file}${code === undefined ? '' : ` (${code})`}`);
    return undefined;
  }
  // RFC 7468 §2: textual encodings start with a `-----BEGIN <label>-----` line.
  if (!text.includes('-----BEGIN ')) {
    report(`${file} is not a PEM file (no -----BEGIN line)`);
    return undefined;
  }
  return text;
}

/** OpenSSL's complaint about a certificate and key (mismatched, encrypted, malformed), if any. */
function contextProblem(options: SecureContextOptions): string | undefined {
  const { cert, key, ca, minVersion } = options;
  try {
    createSecureContext({ cert, key, ca, minVersion });
    return undefined;
  } catch (err) {
    return `the PEM files do not make a TLS context: ${(err as Error).message}`;
  }
}

/**
 * Why a handshake on a mutual-TLS listener failed, when the client's certificate is the reason, as
 * an audit reason: `client_cert_required:none` (none sent; TLS 1.3 `certificate_required` alert,
 * RFC 8446 §4.4.2.4) or `client_cert_untrusted:<OpenSSL verify code>` (not issued by the configured
 * CAs, expired, …: Node verifies after the handshake and closes the socket, so the code is on the
 * socket, not the error). Other failures (a scanner, plain HTTP on the TLS port, a client that hung
 * up) give undefined.
 */
export function handshakeRefusal(
  err: NodeJS.ErrnoException,
  socket: { authorizationError?: Error | string | null },
): string | undefined {
  if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'client_cert_required:none';
  const verify = socket.authorizationError;
  if (verify)
    return `client_cert_untrusted:${typeof verify === 'string' ? verify : ((verify as NodeJS.ErrnoException).code ?? verify.message)}`;
  return undefined;
}
