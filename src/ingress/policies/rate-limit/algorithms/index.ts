/** The rate-limit algorithms by config name; each is pure (see types.ts). */
import { gcra } from './gcra.ts';
import { slidingLog } from './sliding-log.ts';
import { slidingWindow } from './sliding-window.ts';
import type { Algorithm, AlgorithmName } from './types.ts';

export type { Algorithm, AlgorithmName, Decision, LimitSpec } from './types.ts';
export { gcra, slidingLog, slidingWindow };

export const ALGORITHMS: Readonly<Record<AlgorithmName, Algorithm<unknown>>> = {
  'sliding-log': slidingLog as Algorithm<unknown>,
  'sliding-window': slidingWindow as Algorithm<unknown>,
  gcra: gcra as Algorithm<unknown>,
};
