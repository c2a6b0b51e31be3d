/**
 * The demo's back-office documents, kept per employee: `GET /staff/:owner/documents/:id`. Who may read
 * which is decided before a request gets here, by the gateway's `auth.abac` policy (Q33: an employee,
 * the owner, before 18:00); this service only looks the document up under its owner, so a document id
 * never leaks across owners.
 */
import http from 'node:http';
import { HttpError, listen, type RunningService, router, type StartOptions, sendJson } from './http.ts';

export interface StaffDocument {
  id: string;
  owner: string;
  title: string;
}

export const seedDocuments: readonly StaffDocument[] = [
  { id: 'doc_rota', owner: 'alice', title: 'Warehouse rota, week 48' },
  { id: 'doc_returns', owner: 'alice', title: 'Returns to process' },
  { id: 'doc_payroll', owner: 'bob', title: 'Payroll export' },
];

/**
 * @example
 * const staff = await start({ port: 0 });
 * await fetch(`${staff.url}/staff/alice/documents/doc_rota`);
 * await staff.close();
 */
export function start(options: StartOptions): Promise<RunningService> {
  const server = http.createServer(
    router([
      {
        method: 'GET',
        path: '/staff/:owner/documents/:id',
        handle: ({ req, res, params }) => {
          const doc = seedDocuments.find((d) => d.owner === params.owner && d.id === params.id);
          if (doc === undefined) throw new HttpError(404, 'not_found', 'no such document');
          sendJson(res, 200, { ...doc, readBy: req.headers['x-junction-principal'] });
        },
      },
    ]),
  );
  return listen(server, options);
}
