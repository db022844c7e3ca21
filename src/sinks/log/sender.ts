import { succeeded } from '../classify.js';
import { guarded } from '../guard.js';
import { redactorFor } from '../redact.js';
import type { AttemptContext, AttemptOutcome, Sink } from '../types.js';
import type { LogSinkConfig } from './schema.js';

/**
 * The `log` sink prints the rendered action, one JSON line per attempt, through the writer it
 * is given, and always succeeds: a dry run of the rules against real traffic.
 */
export function createLogSink(name: string, config: LogSinkConfig, write: (line: string) => void): Sink {
  async function send(request: Record<string, unknown>, ctx: AttemptContext): Promise<AttemptOutcome> {
    write(JSON.stringify({ sink: name, delivery_id: ctx.deliveryId, attempt: ctx.attempt, request }));
    return succeeded(null);
  }
  return guarded({ name, type: config.type, send }, redactorFor([]));
}
