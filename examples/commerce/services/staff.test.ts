import assert from 'node:assert/strict';
import { test } from 'node:test';
import { start } from './staff.ts';

test('a document is found under its owner only', async (t) => {
  const staff = await start({ port: 0 });
  t.after(() => staff.close());
  const own = await fetch(`${staff.url}/staff/alice/documents/doc_rota`, {
    headers: { 'x-junction-principal': 'alice' },
  });
  assert.equal(own.status, 200);
  assert.deepEqual(await own.json(), {
    id: 'doc_rota',
    owner: 'alice',
    title: 'Warehouse rota, week 48',
    readBy: 'alice',
  });
  const elsewhere = await fetch(`${staff.url}/staff/bob/documents/doc_rota`);
  assert.equal(elsewhere.status, 404);
  assert.equal(((await elsewhere.json()) as { error: string }).error, 'not_found');
});
