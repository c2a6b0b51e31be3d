/**
 * The demo's inventory service: internal only (Q15). It listens for HTTPS on 127.0.0.1 and completes
 * a handshake only with a client that presents a certificate from the demo CA — the gateway's
 * (examples/commerce/pki.ts) — so nothing reaches it except through Junction. `GET /inventory/:sku`
 * answers the stock of a product and which certificate asked.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { HttpError, type RunningService, router, type StartOptions, sendJson } from './http.ts';

export interface InventoryStartOptions extends StartOptions {
  /** PEM files: this service's certificate and key, and the CA whose client certificates it accepts. */
  tls: { cert: string; key: string; ca: string };
}

export const seedStock: Readonly<Record<string, { onHand: number; warehouse: string }>> = {
  prd_mug: { onHand: 42, warehouse: 'AMS-1' },
  prd_tee: { onHand: 7, warehouse: 'AMS-1' },
  prd_cable: { onHand: 120, warehouse: 'FRA-2' },
};

/** The caller's identity as its certificate states it: the SPIFFE id (URI SAN), else the subject CN. */
export function peerIdentity(socket: TLSSocket): string | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return undefined;
  const cn = peer.subject?.CN;
  return /URI:(spiffe:\/\/[^,\s]+)/.exec(peer.subjectaltname ?? '')?.[1] ?? (Array.isArray(cn) ? cn[0] : cn);
}

/**
 * @example
 * const inventory = await start({ port: 0, tls: { cert: pki.inventoryCertFile, key: pki.inventoryKeyFile, ca: pki.caFile } });
 * await inventory.close();
 */
export function start(options: InventoryStartOptions): Promise<RunningService> {
  const handle = router([
    {
      method: 'GET',
      path: '/inventory/:sku',
      handle: ({ req, res, params }) => {
        const sku = params.sku ?? '';
        const item = seedStock[sku];
        if (item === undefined) throw new HttpError(404, 'unknown_sku', `no stock record for ${sku}`);
        sendJson(res, 200, {
          sku,
          ...item,
          servedTo: peerIdentity(req.socket as TLSSocket),
          requestedBy: req.headers['x-junction-principal'],
        });
      },
    },
  ]);
  const server = https.createServer(
    {
      cert: readFileSync(options.tls.cert),
      key: readFileSync(options.tls.key),
      ca: readFileSync(options.tls.ca),
      requestCert: true,
      rejectUnauthorized: true, // no certificate from the demo CA, no handshake: no HTTP at all
      minVersion: 'TLSv1.2',
    },
    handle,
  );
  // Refused handshakes are this service doing its job, not errors to report.
  server.on('tlsClientError', () => {});
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      let closing: Promise<void> | undefined;
      resolve({
        server: server as unknown as RunningService['server'],
        url: `https://${host}:${port}`,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          })),
      });
    });
  });
}
