import type { BrokerSourceConfig } from '../../config/events-schema.ts';

/** A running broker consumer. */
export interface BrokerSource {
  readonly config: BrokerSourceConfig;
  /** Stops consuming and waits for the messages being stored, so each one is acked or given back. */
  close(): Promise<void>;
}
