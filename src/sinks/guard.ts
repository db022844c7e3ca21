import { failed } from './classify.js';
import { redactOutcome, type Redactor } from './redact.js';
import type { Sink } from './types.js';

/**
 * The sink as the dispatcher sees it: every failed outcome has the sink's secrets masked
 * (whatever path made it), and a throw (a bug) becomes a transient failure with a redacted
 * message instead of escaping: never an immediate resend, never a secret in the log.
 */
export function guarded(sink: Sink, redactor: Redactor): Sink {
  return {
    name: sink.name,
    type: sink.type,
    async send(request, ctx) {
      try {
        return redactOutcome(await sink.send(request, ctx), redactor);
      } catch (error) {
        const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return failed({ kind: 'transient', code: 'sink_error', message: `the sink failed unexpectedly: ${redactor.excerpt(what)}` });
      }
    },
  };
}
