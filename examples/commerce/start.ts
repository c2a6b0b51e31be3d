/**
 * `npm start`: the commerce demo's services, then the gateway in front of them.
 * Ports: gateway 8080 (proxy) and 8081 (admin); services 9101-9105 (DEMO_*_PORT to change).
 */
import { fileURLToPath } from 'node:url';
import { startGateway } from '../../src/cli/gateway.ts';
import { startServices } from './services/index.ts';

const services = await startServices();
const gateway = await startGateway({
  configFile: fileURLToPath(new URL('./junction.yaml', import.meta.url)),
});

process.stdout.write(`
Junction commerce demo
  proxy   ${gateway.proxyUrl}
  admin   ${gateway.adminUrl}   (admin token: ${gateway.adminToken})
  services ${Object.entries(services.urls)
    .map(([name, url]) => `${name}=${url}`)
    .join(' ')}
Try: curl -i ${gateway.proxyUrl}/v1/products/prd_mug
`);

const stop = async () => {
  await gateway.close();
  await services.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
