/**
 * Worker thread for audit-log.test.ts on SQLite: appends through its own Store (its own connection),
 * so appends from several workers really race for the write lock of one file. Threads, for the
 * reason given in testing-lease-worker.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './open.ts';
import { auditRecords, plainLinker } from './testing-audit.ts';

const { url, nodeId, count, batch } = workerData as {
  url: string;
  nodeId: number;
  count: number;
  batch: number;
};
const store = await openStore({ url, env: {} });
try {
  const records = auditRecords(count, undefined, nodeId);
  const appends = [];
  for (let i = 0; i < count; i += batch)
    appends.push(store.auditLog.append(records.slice(i, i + batch), plainLinker));
  parentPort?.postMessage((await Promise.all(appends)).flat().length);
} finally {
  await store.close();
}
