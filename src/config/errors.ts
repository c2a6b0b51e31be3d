import { defineError } from '../core/errors.ts';

export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** JSON pointer into the config, e.g. `/routes/2/match/path`. */
  path: string;
  message: string;
}

export const ConfigInvalid = defineError('config_invalid', 422, 'Configuration is invalid');
export const ConfigUnreadable = defineError('config_unreadable', 422, 'Configuration file cannot be read');
