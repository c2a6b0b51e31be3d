// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config's own syntax, not a template.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { createPki, type Issued } from '../../test/helpers/pki.ts';
import type { ConfigIssue } from '../config/errors.ts';
import { loadConfigText } from '../config/loader.ts';
import { isJunctionError } from '../core/errors.ts';
import { handshakeRefusal, listenerTls, upstreamTls } from './tls.ts';

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function thrown(fn: () => unknown): { message: string; issues: ConfigIssue[] | undefined } {
  try {
    fn();
  } catch (err) {
    assert.ok(isJunctionError(err), `expected a JunctionError, got ${err}`);
    assert.equal(err.code, 'config_invalid');
    return { message: err.message, issues: err.extensions?.issues as ConfigIssue[] | undefined };
  }
  assert.fail('expected config_invalid');
}

async function material(t: TestContext) {
  const pki = await createPki(t);
  const ca = await pki.ca('clients');
  const server = await pki.server(ca);
  return { pki, ca, server };
}

const listener = (tls: string[], env: NodeJS.ProcessEnv = {}) =>
  loadConfigText(
    yaml('listeners:', '  proxy:', '    tls:', ...tls.map((l) => `      ${l}`)),
    'junction.yaml',
    env,
  );

test('listener TLS reads the PEM files, ${ENV} included; a CA turns on client certificates', async (t) => {
  const { ca, server } = await material(t);
  const tls = listenerTls(
    listener([`cert: \${CERT_FILE}`, `key: ${server.keyFile}`, `ca: ${ca.certFile}`], {
      CERT_FILE: server.certFile,
    }),
  );
  assert.deepEqual(tls, {
    cert: server.cert,
    key: server.key,
    ca: ca.cert,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  const plain = listenerTls(
    listener([`cert: ${server.certFile}`, `key: ${server.keyFile}`, 'minVersion: TLSv1.3']),
  );
  assert.equal(plain?.requestCert, false);
  assert.equal(plain?.ca, undefined);
  assert.equal(plain?.minVersion, 'TLSv1.3');
  assert.equal(listenerTls(loadConfigText('{}', 'junction.yaml', {})), undefined);
});

test('a missing certificate file is a config error naming the file and where the config names it', async (t) => {
  const { server } = await material(t);
  const missing = join(server.certFile, '..', 'nope.crt');
  const { message, issues } = thrown(() =>
    listenerTls(listener([`cert: ${missing}`, `key: ${server.keyFile}`])),
  );
  assert.deepEqual(
    issues?.map((i) => [i.line, i.path, i.message]),
    [[4, '/listeners/proxy/tls/cert', `cannot read ${missing} (ENOENT)`]],
  );
  assert.match(
    message,
    /^junction\.yaml:4:7 {2}\/listeners\/proxy\/tls\/cert {2}cannot read .*nope\.crt \(ENOENT\)$/,
  );
});

test('files that are not PEM, a key that does not match, or requestCert without ca are config errors', async (t) => {
  const { pki, ca, server } = await material(t);
  const other: Issued = await pki.server(ca);
  const junk = pki.file('junk.pem', 'not a certificate');
  const paths = (lines: string[]) =>
    thrown(() => listenerTls(listener(lines))).issues?.map((i) => [i.path, i.message]);
  assert.deepEqual(paths([`cert: ${junk}`, `key: ${server.keyFile}`]), [
    ['/listeners/proxy/tls/cert', `${junk} is not a PEM file (no -----BEGIN line)`],
  ]);
  const [mismatch] = paths([`cert: ${server.certFile}`, `key: ${other.keyFile}`])!;
  assert.equal(mismatch![0], '/listeners/proxy/tls');
  assert.match(String(mismatch![1]), /do not make a TLS context: .*key values mismatch/);
  assert.deepEqual(paths([`cert: ${server.certFile}`, `key: ${server.keyFile}`, 'requestCert: true']), [
    ['/listeners/proxy/tls/requestCert', 'asking for client certificates needs ca (the CAs that issue them)'],
  ]);
});

const upstream = (targets: string[], tls: Record<string, unknown>) =>
  ({ targets, tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2', ...tls } }) as unknown as Parameters<
    typeof upstreamTls
  >[1];

test('upstream TLS gives connector options and a key that follows the files’ contents', async (t) => {
  const { pki, ca, server } = await material(t);
  const client = await pki.client(ca, { spiffe: 'spiffe://acme.test/gw' });
  const config = upstream(['https://10.0.0.5:8443'], {
    ca: ca.certFile,
    cert: client.certFile,
    key: client.keyFile,
    servername: 'billing.internal',
  });
  const tls = upstreamTls('billing', config)!;
  assert.deepEqual(tls.options, {
    ca: ca.cert,
    cert: client.cert,
    key: client.key,
    servername: 'billing.internal',
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  // Read once per loaded config; a new config (a reload) reads the files again.
  assert.equal(upstreamTls('billing', config), tls);
  writeFileSync(client.certFile, server.cert);
  writeFileSync(client.keyFile, server.key);
  const reloaded = upstreamTls('billing', upstream(['https://10.0.0.5:8443'], { ...config.tls }))!;
  assert.notEqual(reloaded.key, tls.key);
  assert.equal(upstreamTls('billing', { targets: ['https://x'] } as never), undefined);
});

test('upstream TLS errors name the upstream, the setting and the file', async (t) => {
  const { ca } = await material(t);
  const message = (config: ReturnType<typeof upstream>) =>
    thrown(() => upstreamTls('billing', config)).message;
  assert.equal(
    message(upstream(['https://a:1'], { ca: '/nonexistent/ca.pem' })),
    '/upstreams/billing/tls/ca  cannot read /nonexistent/ca.pem (ENOENT)',
  );
  assert.equal(
    message(upstream(['https://a:1'], { cert: ca.certFile })),
    '/upstreams/billing/tls  cert and key go together: set both to present a client certificate, or neither',
  );
  assert.equal(
    message(upstream(['https://a:1', 'http://b:2'], {})),
    '/upstreams/billing/targets/1  tls applies to https:// targets only, not http://b:2',
  );
});

test('handshake refusals name the missing or untrusted client certificate; other failures are not refusals', () => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  assert.equal(
    handshakeRefusal(err('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'), {}),
    'client_cert_required:none',
  );
  assert.equal(
    handshakeRefusal(err('ECONNRESET'), { authorizationError: 'CERT_HAS_EXPIRED' }),
    'client_cert_untrusted:CERT_HAS_EXPIRED',
  );
  assert.equal(handshakeRefusal(err('ERR_SSL_HTTP_REQUEST'), { authorizationError: null }), undefined);
});
