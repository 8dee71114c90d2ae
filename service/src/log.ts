// JSON-line logs carrying the instance id. Nothing is logged per message at
// info level: the hot path only counts, in metrics.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export function createLogger(instance: string, level: LogLevel): Logger {
  return pino({ level, base: { instance }, timestamp: pino.stdTimeFunctions.isoTime });
}
