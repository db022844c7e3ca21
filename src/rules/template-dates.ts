import type { Liquid } from 'liquidjs';
import { parseDateTime } from '../dates.js';

/** liquidjs' filters that read a date; each is wrapped so its input is read one way. */
const DATE_FILTERS = ['date', 'date_to_xmlschema', 'date_to_rfc822', 'date_to_string', 'date_to_long_string'] as const;

/** Words liquidjs' date filters read as the current time. */
const CLOCK_WORDS = new Set(['now', 'today']);

/** A literal `'now' | date` (or `"today" | date_to_string`, …) in a template's source. */
const CLOCK_LITERAL = /(['"])\s*(now|today)\s*\1\s*\|\s*date/i;

/**
 * Why a template's source reads the clock, or null. Templates must not (README "Rules file": rendering
 * the same event twice, in `rules test`, by the router or by `replay`, gives the same request).
 */
export function clockReadIn(source: string): string | null {
  const match = CLOCK_LITERAL.exec(source);
  if (!match) return null;
  return `"${match[2]}" reads the clock, which templates may not do (rendering must be repeatable): use received_at or event.created_at`;
}

/**
 * Replaces liquidjs' date filters by ones that read their input the relay's way, whatever
 * the host: an RFC 3339 date-time (zone-less is UTC) or a date (midnight UTC), epoch seconds
 * as a number or digit string; anything else comes back unchanged, as liquidjs does with a
 * value it cannot read. `now`/`today` fail the render (the template reached them through data
 * or `assign`; a literal one is refused at load by `clockReadIn`). Output is in UTC unless the
 * filter is given a zone (the engine's `timezoneOffset: 0`).
 */
export function registerDateFilters(engine: Liquid): void {
  for (const name of DATE_FILTERS) {
    const builtin = engine.filters[name] as unknown as (...a: unknown[]) => unknown;
    engine.registerFilter(name, function (this: unknown, value: unknown, ...args: unknown[]) {
      if (typeof value === 'string' && CLOCK_WORDS.has(value.trim().toLowerCase())) {
        throw new Error(`${name}: "${value}" would read the clock; templates may not (use received_at or event.created_at)`);
      }
      const input = readDate(value);
      if (input === undefined) return value;
      if (name === 'date' && typeof args[0] === 'string') args[0] = args[0].replace(/%%|%[cxX]/g, (f) => LOCALE_FREE[f] ?? f);
      return builtin.call(this, input, ...args);
    });
  }
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * strftime's `%c`, `%x`, `%X` spelled out as en-US writes them: liquidjs prints them with
 * `toLocaleString()` in the host's locale (`1.6.2026, 10:00:00` under de_DE), not the engine's.
 */
const LOCALE_FREE: Record<string, string> = { '%c': '%-m/%-d/%Y, %-I:%M:%S %p', '%x': '%-m/%-d/%Y', '%X': '%-I:%M:%S %p' };

/** What liquidjs may safely be given: a number (epoch seconds) or a Date; undefined: not a date. */
function readDate(value: unknown): number | Date | string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return text; // epoch seconds, read by liquidjs without any zone
  const day = DATE_ONLY.exec(text);
  const ms = day ? parseDateTime(`${text}T00:00:00Z`) : parseDateTime(text);
  return ms === null ? undefined : new Date(ms);
}
