/**
 * Worker thread for nodes.test.ts: leases node ids through its own Store (its own SQLite connection),
 * so leases from several workers really race on one database file. Threads, not one event loop:
 * a second connection in the same thread would wait on `busy_timeout` synchronously and starve the
 * connection holding the lock.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './open.ts';

const { url, prefix, count } = workerData as { url: string; prefix: string; count: number };
const store = await openStore({ url, env: {} });
try {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(await store.nodes.lease(`${prefix}-${i}`, 60_000));
  parentPort?.postMessage(ids);
} finally {
  await store.close();
}
