/**
 * `npm run demo:token -- <alice|bob|carol>`: prints a bearer JWT for the demo's staff route, standing
 * in for the company's identity provider. The key, issuer and audience are read from the
 * `staff-documents` route in junction.yaml (so DEMO_JWT_SECRET applies to both); the token lives an
 * hour and carries the attributes `auth.abac` decides on: alice and bob are employees, carol is a
 * contractor (`employee: false`).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { loadConfigFile } from '../../src/config/loader.ts';

export const STAFF = {
  alice: { name: 'Alice Archer', employee: true, department: 'warehouse' },
  bob: { name: 'Bob Baker', employee: true, department: 'finance' },
  carol: { name: 'Carol Cook', employee: false, department: 'warehouse' },
} as const;

export type StaffName = keyof typeof STAFF;

interface StaffJwtConfig {
  keys: { kid?: string; alg: string; secret?: string }[];
  issuer?: string;
  audience?: string | string[];
}

/**
 * A signed token for one of the demo's staff, verifiable by the `staff-documents` route of `configFile`.
 * @example
 * const token = await demoToken('alice'); // Authorization: Bearer <token>
 */
export async function demoToken(
  who: StaffName,
  configFile = fileURLToPath(new URL('./junction.yaml', import.meta.url)),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const route = loadConfigFile(configFile, env).config.routes.find((r) => r.name === 'staff-documents');
  const jwt = route?.policies?.['auth.jwt'] as StaffJwtConfig | undefined;
  const key = jwt?.keys.find((k) => k.alg === 'HS256' && k.secret !== undefined);
  if (jwt === undefined || key === undefined) {
    throw new Error(`${configFile}: no staff-documents route with an auth.jwt HS256 key`);
  }
  const audience = Array.isArray(jwt.audience) ? jwt.audience[0] : jwt.audience;
  const token = new SignJWT({ ...STAFF[who] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) })
    .setSubject(who)
    .setIssuedAt()
    .setExpirationTime('1h');
  if (jwt.issuer) token.setIssuer(jwt.issuer);
  if (audience) token.setAudience(audience);
  return token.sign(new TextEncoder().encode(key.secret));
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' } },
  });
  const who = positionals[0] ?? '';
  if (!(who in STAFF)) {
    process.stderr.write(
      `usage: npm run demo:token -- <${Object.keys(STAFF).join('|')}> [-c junction.yaml]\n`,
    );
    process.exit(2);
  }
  process.stdout.write(`${await demoToken(who as StaffName, values.config)}\n`);
}
