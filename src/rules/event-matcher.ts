import { KNOWN_EVENT_TYPES } from '../receive/envelope.js';
import type { EventMatcher } from './types.js';

/**
 * `*` matches any run of characters, line breaks and other control characters included
 * (`s`: an event type is any string HuskyVoice sends; without it `*` stopped at a newline).
 */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 's');
}

/** `on` as a type, a list of types, or globs like `call.*` (`*` matches any run of characters). */
export function compileOn(on: string | string[]): EventMatcher {
  const patterns = typeof on === 'string' ? [on] : on;
  const regexps = patterns.map(globToRegExp);
  return { patterns, matches: (eventType) => regexps.some((r) => r.test(eventType)) };
}

/** True when the pattern matches at least one documented event type. */
export function matchesKnownType(pattern: string): boolean {
  const regexp = globToRegExp(pattern);
  return KNOWN_EVENT_TYPES.some((t) => regexp.test(t));
}
