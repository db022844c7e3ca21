import type { Logger } from 'pino';
import { CREDENTIAL_CODES } from './lifecycle.js';
import type { AttemptOutcome } from '../sinks/types.js';

/** What one log line says about an attempt that ended. */
export interface AttemptLine {
  delivery_id: string;
  sink: string;
  attempt: number;
  /** `succeeded`, `dead`, or the error kind. */
  outcome: string;
  ms: number;
  /** False when the log could not take the attempt yet (it is held, see `UnrecordedOutcomes`). */
  recorded: boolean;
}

/**
 * The operator's line for an attempt: info when delivered, an error naming the fix when the
 * sink's credentials were refused, a warning otherwise. Error texts are redacted by the sink.
 */
export function reportAttempt(logger: Logger, { recorded, ...line }: AttemptLine, outcome: AttemptOutcome): void {
  const fields = recorded ? line : { ...line, recorded };
  if (outcome.outcome === 'succeeded') {
    logger.info(fields, 'delivered');
    return;
  }
  const withError = { ...fields, error: outcome.error };
  if (CREDENTIAL_CODES.has(outcome.error.code)) {
    logger.error(
      withError,
      `sink "${line.sink}" rejected its credentials: fix its token, reload, then \`husky-relay retry --dead --sink ${line.sink}\``,
    );
  } else logger.warn(withError, line.outcome === 'dead' ? 'delivery dead' : 'attempt failed');
}
