/**
 * The demo's users service: an in-memory directory behind the gateway.
 * `GET /users`, `GET /users/:id`, `POST /users` ({ name, email }), plus `/healthz` and `/debug/headers`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  HttpError,
  listen,
  type RunningService,
  readJson,
  router,
  type StartOptions,
  sendJson,
} from './http.ts';

export interface User {
  id: string;
  name: string;
  email: string;
}

/** Fixed ids so the demo's commands and the orders service can refer to them. */
export const seedUsers: readonly User[] = [
  { id: 'usr_ada', name: 'Ada Lovelace', email: 'ada@example.com' },
  { id: 'usr_grace', name: 'Grace Hopper', email: 'grace@example.com' },
  { id: 'usr_alan', name: 'Alan Turing', email: 'alan@example.com' },
];

function parseNewUser(body: unknown): Omit<User, 'id'> {
  const { name, email } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const missing = [
    typeof name === 'string' && name.trim() !== '' ? undefined : 'name',
    typeof email === 'string' && email.includes('@') ? undefined : 'email',
  ].filter((field) => field !== undefined);
  if (missing.length > 0) {
    throw new HttpError(400, 'invalid_user', `missing or invalid field(s): ${missing.join(', ')}`);
  }
  return { name: (name as string).trim(), email: email as string };
}

/**
 * Starts the users service with a fresh copy of the seed data.
 * @example
 * const users = await start({ port: 0 });
 * await fetch(`${users.url}/users/usr_ada`);
 * await users.close();
 */
export function start(options: StartOptions): Promise<RunningService> {
  const users = new Map(seedUsers.map((u) => [u.id, { ...u }]));
  const server = http.createServer(
    router([
      {
        method: 'GET',
        path: '/users',
        handle: ({ res }) => sendJson(res, 200, { data: [...users.values()] }),
      },
      {
        method: 'GET',
        path: '/users/:id',
        handle: ({ res, params }) => {
          const user = users.get(params.id ?? '');
          if (!user) throw new HttpError(404, 'user_not_found', `no user ${params.id}`);
          sendJson(res, 200, user);
        },
      },
      {
        method: 'POST',
        path: '/users',
        handle: async ({ req, res }) => {
          const user = { id: `usr_${randomBytes(8).toString('hex')}`, ...parseNewUser(await readJson(req)) };
          users.set(user.id, user);
          res.setHeader('location', `/users/${user.id}`);
          sendJson(res, 201, user);
        },
      },
    ]),
  );
  return listen(server, options);
}
