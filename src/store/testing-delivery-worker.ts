/**
 * Worker thread for deliveries.test.ts on SQLite: claims and completes deliveries through its own
 * Store (its own connection) until the queue has nothing due, so claimers on several connections
 * really race for one file. Threads, for the reason given in testing-lease-worker.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './open.ts';

const { url, owner, batch } = workerData as { url: string; owner: string; batch: number };
const store = await openStore({ url, env: {} });
try {
  // Start together: the parent says go once every worker has its connection open.
  await new Promise<void>((resolve) => {
    parentPort?.once('message', () => resolve());
    parentPort?.postMessage('ready');
  });
  const done: string[] = [];
  for (;;) {
    const claimed = await store.deliveries.claim(owner, batch, 60_000);
    if (claimed.length === 0) break;
    for (const d of claimed) {
      if (!(await store.deliveries.complete(d.id, owner))) throw new Error(`lost the lease on ${d.id}`);
      done.push(d.id);
    }
  }
  parentPort?.postMessage(done);
} finally {
  await store.close();
}
