/** The `respond` handler: a static answer from config (health stubs, mocks, maintenance pages). */
import type { Answer } from '../../core/policy.ts';
import type { Handler } from '../route.ts';
import { sendAnswer } from '../send.ts';

export interface RespondOptions {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}

export function respondHandler(options: RespondOptions): Handler {
  const answer: Answer = {
    status: options.status,
    headers: options.headers,
    body: options.body as Answer['body'],
  };
  return {
    upstream: undefined,
    handle(ctx, res, _route, rt) {
      sendAnswer(ctx, res, answer, rt);
    },
  };
}
