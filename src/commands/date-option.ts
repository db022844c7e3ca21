import { parseDateOrDateTime } from '../dates.js';
import { UserError } from '../errors.js';

/** The forms `--since`/`--until` take, for the error that refuses anything else. */
export const DATE_FORMS = '2026-06-01 (midnight UTC), 2026-06-01T09:00, 2026-06-01T09:00:00Z or 2026-06-01T11:00:00+02:00 (no zone means UTC)';

/**
 * A commander parser for a date option (`--since`, `--until`): the value as a canonical UTC
 * ISO string. Read by `parseDateOrDateTime`, never by `Date.parse`, so the host's time zone
 * changes nothing. Throws a `UserError` naming the option and the forms it takes.
 */
export function dateOption(name: string): (value: string) => string {
  return (value: string): string => {
    const ms = parseDateOrDateTime(value);
    if (ms === null) throw new UserError(`${name}: "${value}" is not an ISO-8601 date or date-time; use ${DATE_FORMS}`, 'invalid_date');
    return new Date(ms).toISOString();
  };
}
