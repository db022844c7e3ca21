import { OPERATOR_EVENT_TYPES, isOperatorEventType } from '../log/types.js';
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

/**
 * Whether a pattern names an operator event type (README "When a rule fails at run time"): it matches it, and its first
 * segment (before the first `.`) is written out, as in `delivery.dead`, `sink.*`,
 * `pending.*`. `*`, `*.dead` and `call.*` name none: they keep matching call events only.
 */
function namesOperatorType(pattern: string, regexp: RegExp, type: string): boolean {
  const dot = pattern.indexOf('.');
  const first = dot < 0 ? pattern : pattern.slice(0, dot);
  return !first.includes('*') && regexp.test(type);
}

/**
 * `on` as a type, a list of types, or globs like `call.*` (`*` matches any run of characters).
 * `matches` is for HuskyVoice events; `names` for the relay's operator events.
 */
export function compileOn(on: string | string[]): EventMatcher {
  const patterns = typeof on === 'string' ? [on] : on;
  const regexps = patterns.map(globToRegExp);
  return {
    patterns,
    matches: (eventType) => regexps.some((r) => r.test(eventType)),
    names: (eventType) => isOperatorEventType(eventType) && patterns.some((p, i) => namesOperatorType(p, regexps[i]!, eventType)),
  };
}

/** The documented types `on` sees: HuskyVoice's that it matches, and the operator events it names. */
export function typesSeen(on: EventMatcher): string[] {
  return [...KNOWN_EVENT_TYPES.filter((t) => on.matches(t)), ...OPERATOR_EVENT_TYPES.filter((t) => on.names(t))];
}

/** True when the pattern matches at least one documented event type, or names an operator event. */
export function matchesKnownType(pattern: string): boolean {
  return typesSeen(compileOn(pattern)).length > 0;
}

/** Every type a rule can name: HuskyVoice's documented ones and the operator events. */
export const KNOWN_TYPES: readonly string[] = [...KNOWN_EVENT_TYPES, ...OPERATOR_EVENT_TYPES];
