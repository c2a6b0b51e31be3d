/**
 * The identity half of the demo (issue #4), started by examples/commerce/start.ts next to the plain
 * services (./index.ts). Apart from them because they need more than a port: the OpenID Provider
 * needs the gateway's address (its redirect URI), the inventory service its TLS files.
 *
 * - oidc (DEMO_OIDC_PORT, 9107): the demo OpenID Provider the shop signs in with (./oidc.ts);
 * - web (DEMO_WEB_PORT, 9108): the shop's web front, behind `auth.session` (./web.ts);
 * - inventory (DEMO_INVENTORY_PORT, 9109): HTTPS, internal only, mTLS from the gateway (./inventory.ts);
 * - staff (DEMO_STAFF_PORT, 9110): back-office documents behind `auth.jwt` + `auth.abac` (./staff.ts).
 */
import type { RunningService } from './http.ts';
import { start as startInventory } from './inventory.ts';
import { start as startOidc } from './oidc.ts';
import { start as startStaff } from './staff.ts';
import { start as startWeb } from './web.ts';

export type IdentityServiceName = 'oidc' | 'web' | 'inventory' | 'staff';

export interface IdentityOptions {
  /** Where browsers reach the gateway: the OpenID Provider redirects back there. */
  gatewayUrl: string;
  /** PEM files of the inventory service (examples/commerce/pki.ts). */
  inventoryTls: { cert: string; key: string; ca: string };
  host?: string;
  /** An explicit port wins over the DEMO_*_PORT variable, which wins over the default; 0 picks a free port. */
  ports?: Partial<Record<IdentityServiceName, number>>;
  env?: Record<string, string | undefined>;
}

export interface RunningIdentity {
  urls: Record<IdentityServiceName, string>;
  close(): Promise<void>;
}

const defaults: Record<IdentityServiceName, { port: number; env: string }> = {
  oidc: { port: 9107, env: 'DEMO_OIDC_PORT' },
  web: { port: 9108, env: 'DEMO_WEB_PORT' },
  inventory: { port: 9109, env: 'DEMO_INVENTORY_PORT' },
  staff: { port: 9110, env: 'DEMO_STAFF_PORT' },
};

function portFor(name: IdentityServiceName, options: IdentityOptions): number {
  const { port, env } = defaults[name];
  const explicit = options.ports?.[name];
  const raw = (options.env ?? process.env)[env];
  const chosen = explicit ?? (raw === undefined || raw === '' ? port : Number(raw));
  if (!Number.isInteger(chosen) || chosen < 0 || chosen > 65_535) {
    throw new RangeError(`${name} port must be an integer in 0..65535, got ${explicit ?? raw} (${env})`);
  }
  return chosen;
}

/**
 * Starts the provider, the shop's web front, the inventory and the staff documents; if one fails to
 * listen, the others are closed again.
 * @example
 * const pki = await ensureDemoPki();
 * const identity = await startIdentityServices({
 *   gatewayUrl: 'http://localhost:8080',
 *   inventoryTls: { cert: pki.inventoryCertFile, key: pki.inventoryKeyFile, ca: pki.caFile },
 * });
 * await identity.close();
 */
export async function startIdentityServices(options: IdentityOptions): Promise<RunningIdentity> {
  const host = options.host ?? '127.0.0.1';
  const port = (name: IdentityServiceName) => portFor(name, options);
  const ports = { oidc: port('oidc'), web: port('web'), inventory: port('inventory'), staff: port('staff') };
  const settled = await Promise.allSettled([
    startOidc({ host, port: ports.oidc, gatewayUrl: options.gatewayUrl }),
    startWeb({ host, port: ports.web }),
    startInventory({ host, port: ports.inventory, tls: options.inventoryTls }),
    startStaff({ host, port: ports.staff }),
  ]);
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => s.close()));
    throw failed.reason;
  }
  const [oidc, web, inventory, staff] = started as [
    RunningService,
    RunningService,
    RunningService,
    RunningService,
  ];
  return {
    urls: { oidc: oidc.url, web: web.url, inventory: inventory.url, staff: staff.url },
    close: async () => {
      await Promise.all(started.map((s) => s.close()));
    },
  };
}
