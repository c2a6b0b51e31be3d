import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { loadConfigText } from '../config/loader.ts';
import { noAudit } from '../core/audit.ts';
import { Snowflake } from '../core/ids.ts';
import { createLogger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import type { Services } from '../core/services.ts';
import { openStore, type Store } from '../store/index.ts';
import { type HubContext, startEventHub } from './hub.ts';

const services = (): Services => ({
  logger: createLogger({ level: 'silent' }),
  accessLogger: createLogger({ level: 'silent' }),
  metrics: createMetrics({ defaultMetrics: false }),
  ids: new Snowflake({ nodeId: 1 }),
  audit: noAudit,
  redisUrl: undefined,
  spans: undefined,
});

const yaml = (sources: string[]) => `
events:
  sources:
${sources.map((s) => `    ${s}: { verify: { provider: github, secrets: [s3cret] } }`).join('\n') || '    {}'}
`;

async function memoryStore(t: TestContext): Promise<Store> {
  const store = await openStore({ url: 'sqlite::memory:', env: {} });
  t.after(() => store.close());
  await store.migrate();
  return store;
}

test('components start with the shared intake, follow reloads, and close in reverse order', async (t) => {
  const store = await memoryStore(t);
  const log: string[] = [];
  const component = (name: string) => (ctx: HubContext) => {
    log.push(`start ${name} ${[...ctx.events.sourceNames].join(',')}`);
    assert.equal(typeof ctx.intake.accept, 'function');
    return {
      name,
      reload: (next: HubContext) => void log.push(`reload ${name} ${[...next.events.sourceNames].join(',')}`),
      close: async () => void log.push(`close ${name}`),
    };
  };
  const hub = await startEventHub({
    loaded: loadConfigText(yaml(['a']), 'junction.yaml', {}),
    store,
    services: services(),
    components: [component('worker'), component('pollers')],
  });
  assert.deepEqual(
    hub.endpoints.map((e) => [e.name, e.path, e.methods]),
    [['hook:a', '/hooks/a', ['POST']]],
  );
  const endpoints = await hub.reload(loadConfigText(yaml(['a', 'b']), 'junction.yaml', {}));
  assert.deepEqual(
    endpoints.map((e) => e.path),
    ['/hooks/a', '/hooks/b'],
  );
  assert.equal(hub.endpoints, endpoints);
  await hub.close();
  assert.deepEqual(log, [
    'start worker a',
    'start pollers a',
    'reload worker a,b',
    'reload pollers a,b',
    'close pollers',
    'close worker',
  ]);
});

test('stage compiles without changing anything; a bad config throws its issues', async (t) => {
  const store = await memoryStore(t);
  const hub = await startEventHub({
    loaded: loadConfigText(yaml(['a']), 'junction.yaml', {}),
    store,
    services: services(),
  });
  t.after(() => hub.close());
  const staged = hub.stage(loadConfigText(yaml(['a', 'b']), 'junction.yaml', {}));
  assert.equal(staged.endpoints.length, 2);
  assert.equal(hub.endpoints.length, 1, 'not applied yet');
  const bad = loadConfigText(
    `${yaml(['a'])}  subscriptions:\n    s: { sources: [nope], destination: { type: http, url: 'http://127.0.0.1:9/' } }\n`,
    'junction.yaml',
    {},
  );
  assert.throws(
    () => hub.stage(bad),
    /junction\.yaml:\d+:\d+ {2}\/events\/subscriptions\/s\/sources\/0 {2}no source named nope/,
  );
  await staged.apply();
  assert.equal(hub.endpoints.length, 2);
});
