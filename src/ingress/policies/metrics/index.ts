/** `core.metrics`: request count and latency histogram by route, upstream and status (Prometheus). */
import Type from 'typebox';
import { routeObserver } from '../../../core/metrics.ts';
import { definePolicy } from '../../../core/policy.ts';

export const metrics = definePolicy({
  name: 'core.metrics',
  description: 'Prometheus request counter and latency histogram for the route',
  schema: Type.Object({}, { additionalProperties: false }),
  create(_config, env) {
    const observer = routeObserver(env.services.metrics, env.routeName);
    return {
      onLog(_ctx, entry) {
        observer.observe(entry.upstream ?? '', entry.status, entry.durationMs / 1000);
      },
    };
  },
});
