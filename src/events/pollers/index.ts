/**
 * Pull sources (Q9): APIs without webhooks, polled on an interval into the event pipeline. See
 * docs/events.md "Pull sources and brokers".
 */
export { type PollersComponent, startPollersComponent } from './component.ts';
export {
  PollLeaseLost,
  PollRequestFailed,
  PollResponseInvalid,
  PollStatusUnexpected,
  PollThrottled,
} from './errors.ts';
export { compareCursors, externalIdOf, itemsAt } from './items.ts';
export { nextPageUrl } from './link.ts';
export { type Pollers, type PollersOptions, startPollers } from './pollers.ts';
