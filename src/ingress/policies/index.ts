import type { PolicyFactory } from '../../core/policy.ts';
import { accessLog } from './access-log/index.ts';
import { cache } from './cache/index.ts';
import { fault } from './fault/index.ts';
import { metrics } from './metrics/index.ts';
import { negotiate } from './negotiate/index.ts';
import { tracing } from './tracing/index.ts';

/** Every policy a route can name. Later capabilities add theirs here. */
export const POLICIES: readonly PolicyFactory[] = [
  tracing,
  accessLog,
  metrics,
  negotiate,
  fault,
  cache,
] as unknown as PolicyFactory[];
