import type { Logger } from 'pino';
import type { AttemptEnded } from './attempt.js';
import { CREDENTIAL_CODES } from './lifecycle.js';

/**
 * The operator's line for an attempt: info when delivered, an error naming the fix when the
 * sink's credentials were refused (the sink is paused, README "When a rule fails at run time"), a warning otherwise. Error
 * texts are redacted by the sink.
 */
export function reportAttempt(logger: Logger, ended: AttemptEnded): void {
  const { recorded, outcome } = ended;
  const line = { delivery_id: ended.delivery_id, sink: ended.sink, attempt: ended.attempt, outcome: ended.kind, ms: Math.round(ended.durationMs) };
  const fields = recorded ? line : { ...line, recorded };
  if (outcome.outcome === 'succeeded') {
    logger.info(fields, 'delivered');
    return;
  }
  const withError = { ...fields, error: outcome.error };
  if (CREDENTIAL_CODES.has(outcome.error.code)) {
    logger.error(withError, `sink "${line.sink}" rejected its credentials: the delivery waits while the sink is paused; fix its token and reload, or \`husky-relay resume ${line.sink}\``);
  } else logger.warn(withError, line.outcome === 'dead' ? 'delivery dead' : 'attempt failed');
}
