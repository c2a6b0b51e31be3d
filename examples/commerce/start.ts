/**
 * `npm start`: the commerce demo's services, then the gateway in front of them.
 * Ports: gateway 8080 (proxy) and 8081 (admin); services 9101-9105 (DEMO_*_PORT to change).
 * Identity (issue #4): the OpenID Provider, shop web front, inventory (HTTPS, mTLS) and staff
 * documents on 9107-9110 (services/identity.ts), with the demo PKI in DEMO_PKI_DIR (pki.ts).
 * Outbound webhooks (issue #7): the orders service publishes its events through the gateway to the
 * customer Acme's receiver on 9111 (DEMO_RECEIVER_PORT), set up once the gateway is up (setup.ts).
 */
import { fileURLToPath } from 'node:url';
import { startGateway } from '../../src/cli/gateway.ts';
import { ensureDemoPki } from './pki.ts';
import { orderPublisher } from './publisher.ts';
import { startIdentityServices } from './services/identity.ts';
import { startServices } from './services/index.ts';
import { startAcme } from './setup.ts';

// Identity (issue #4): the inventory service's certificates, made here when missing or expiring;
// junction.yaml reads the gateway's from DEMO_PKI_DIR. The provider sends browsers back to the gateway.
const pki = await ensureDemoPki();
process.env.DEMO_PKI_DIR = pki.dir;
// Outbound webhooks: the orders service's events wait in the publisher until Acme is set up below.
const publisher = orderPublisher({ log: (line) => process.stderr.write(`${line}\n`) });
const services = await startServices({ publishOrderEvent: publisher.publish });
const identity = await startIdentityServices({
  gatewayUrl: `http://localhost:${process.env.JUNCTION_PROXY_PORT || 8080}`,
  inventoryTls: { cert: pki.inventoryCertFile, key: pki.inventoryKeyFile, ca: pki.caFile },
});
const gateway = await startGateway({
  configFile: fileURLToPath(new URL('./junction.yaml', import.meta.url)),
});
const acme = await startAcme({ adminUrl: gateway.adminUrl, adminToken: gateway.adminToken, publisher });

process.stdout.write(`
Junction commerce demo
  proxy   ${gateway.proxyUrl}
  admin   ${gateway.adminUrl}   (admin token: ${gateway.adminToken})
  services ${Object.entries(services.urls)
    .map(([name, url]) => `${name}=${url}`)
    .join(' ')}
  identity ${Object.entries(identity.urls)
    .map(([name, url]) => `${name}=${url}`)
    .join(' ')}
Try: curl -i ${gateway.proxyUrl}/v1/products/prd_mug
Sign in: open http://localhost:${new URL(gateway.proxyUrl).port}/shop (demo / demo)
Events: a payment's Stripe webhook goes to ${gateway.proxyUrl}/hooks/stripe and on to the orders service;
        the partner's shipments are polled (README "Events")
Webhooks out: the orders service publishes order.created / order.shipped through Junction to Acme
        (app ${acme.setup.appId}, uid acme, endpoint ${acme.setup.endpoint.id}); what arrived: curl ${acme.receiver.url}/received
        (README "Outbound webhooks")
`);

const stop = async () => {
  await gateway.close();
  await Promise.all([services.close(), identity.close(), acme.receiver.close()]);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
