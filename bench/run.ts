/**
 * `npm run bench [-- proxy|streaming|rate-limit|idempotency|events|webhooks] [flags]`: dispatches on the first argument (default proxy).
 * Each benchmark is loaded only when chosen, so one that cannot load never stops the other.
 */
const [first, ...rest] = process.argv.slice(2);
const which = first === undefined || first.startsWith('-') ? 'proxy' : first;
const args = which === first ? rest : process.argv.slice(2);

const benches: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  proxy: () => import('./proxy.ts'),
  streaming: () => import('./streaming.ts'),
  'rate-limit': () => import('./rate-limit.ts'),
  idempotency: () => import('./idempotency.ts'),
  events: () => import('./events.ts'),
  webhooks: () => import('./webhooks.ts'),
};

const load = benches[which];
if (load === undefined) {
  console.error(`unknown benchmark "${which}": use one of ${Object.keys(benches).join(', ')}`);
  process.exitCode = 2;
} else {
  process.exitCode = await (await load()).main(args);
}
