/**
 * TLS on both sides of the gateway (Q15): the proxy listener's server certificate and, optionally,
 * the CAs whose client certificates it accepts (mutual TLS); and per upstream, the CAs to trust, the
 * client certificate to present, and the name to verify. Values are PEM file paths (`${ENV}` works);
 * src/ingress/tls.ts reads them. docs/auth.md ("mTLS") walks through a setup.
 */
import Type, { type Static } from 'typebox';

const PemFile = (description: string) => Type.String({ minLength: 1, description });

/** TLS 1.3 (RFC 8446) or 1.2 (RFC 5246) at least; older versions are deprecated by RFC 8996. */
const MinVersion = Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
  default: 'TLSv1.2',
  description: 'Lowest TLS version accepted',
});

export const ListenerTlsSchema = Type.Object(
  {
    cert: PemFile('PEM file: the server certificate, then any intermediates'),
    key: PemFile('PEM file: the private key of cert'),
    ca: Type.Optional(
      PemFile('PEM file: the CAs that issue client certificates; setting it turns on mutual TLS'),
    ),
    requestCert: Type.Optional(
      Type.Boolean({ description: 'Ask clients for a certificate; defaults to true when ca is set' }),
    ),
    rejectUnauthorized: Type.Optional(
      Type.Boolean({
        description:
          'Refuse the handshake of a client without a certificate from ca; defaults to true when ca is set. false lets it through so a route policy (auth.mtls) decides',
      }),
    ),
    minVersion: MinVersion,
  },
  {
    additionalProperties: false,
    description:
      'Serve HTTPS; certificate files are read again on every config reload (rotation without restart)',
  },
);

export const UpstreamTlsSchema = Type.Object(
  {
    ca: Type.Optional(
      PemFile("PEM file: CAs that issue the upstream's certificate; replaces the system's roots"),
    ),
    cert: Type.Optional(PemFile('PEM file: client certificate presented to the upstream (mutual TLS)')),
    key: Type.Optional(PemFile('PEM file: the private key of cert')),
    servername: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$',
        maxLength: 253,
        description: "SNI and the name the upstream's certificate must carry; defaults to the target's host",
      }),
    ),
    rejectUnauthorized: Type.Boolean({
      default: true,
      description: 'Verify the upstream certificate; false accepts any (never in production)',
    }),
    minVersion: MinVersion,
  },
  { additionalProperties: false, description: 'TLS to https:// targets' },
);

export type ListenerTlsConfig = Static<typeof ListenerTlsSchema>;
export type UpstreamTlsConfig = Static<typeof UpstreamTlsSchema>;
