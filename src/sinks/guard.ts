import type { SinkConfig } from './types.js';
import { failed } from './classify.js';
import { redactOutcome, type Redactor } from './redact.js';
import type { Sink } from './types.js';

/** Sink headers that carry no credential: not treated as secrets (masking `application/json` helps nobody). */
const PLAIN_HEADERS = new Set(['content-type', 'accept', 'user-agent']);

/**
 * Everything secret in a sink's declaration: the token (Slack, HubSpot), the signing secret
 * and header values (HTTP), and what a URL can carry (a password, query values, long path
 * segments such as the token in an incoming-webhook URL).
 */
export function sinkSecrets(config: SinkConfig): string[] {
  switch (config.type) {
    case 'slack':
      return [config.token];
    case 'hubspot':
      return [config.access_token];
    case 'http': {
      const headers = Object.entries(config.headers ?? {}).filter(([name]) => !PLAIN_HEADERS.has(name.toLowerCase()));
      return [config.secret ?? '', ...headers.map(([, value]) => value), ...urlSecrets(config.url)];
    }
    case 'log':
      return [];
  }
}

function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const path = u.pathname.split('/').filter((segment) => segment.length >= 16);
    return [decodeURIComponent(u.password), ...u.searchParams.values(), ...path];
  } catch {
    return [];
  }
}

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
