/**
 * Every date the relay reads, read one way, whatever the host's time zone.
 *
 * JavaScript's `Date.parse` reads a date-time without a zone (`2026-06-01T10:00:00`) in the
 * host's zone, and accepts almost anything (`"June 1"`, `"-3"`). Nothing in the relay may
 * depend on where it runs, so dates are read here instead, by the RFC 3339 profile of
 * ISO 8601 (https://www.rfc-editor.org/rfc/rfc3339#section-5.6):
 *
 *   2026-06-01T10:00:00Z   2026-06-01T12:00:00+02:00   2026-06-01T10:00:00.123456Z
 *
 * with two liberties, both documented in the README: a date-time without a zone is UTC, and
 * `t`/space may stand for `T`. Seconds are required, as RFC 3339 requires them.
 */

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
/** For command-line filters only: seconds may be left out (`2026-06-01T09:00`). */
const DATE_TIME_NO_SECONDS = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})([Zz]|[+-]\d{2}:\d{2})?$/;

/**
 * An RFC 3339 date-time as milliseconds since the epoch, or null when `text` is not one (or
 * names a day or time that does not exist, such as February 30 or 24:00). A date-time without
 * a zone is UTC. Fractions beyond milliseconds are truncated; a leap second (`:60`) reads as
 * the first instant of the next minute.
 */
export function parseDateTime(text: string): number | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  return instant(m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7], m[8]);
}

/**
 * What the command line takes for `--since`/`--until`: an RFC 3339 date-time (zone-less is
 * UTC), the same without seconds, or a bare date, which means midnight UTC of that day.
 * Null when it is none of those.
 */
export function parseDateOrDateTime(text: string): number | null {
  const trimmed = text.trim();
  const day = DATE_ONLY.exec(trimmed);
  if (day) return instant(day[1]!, day[2]!, day[3]!, '00', '00', '00', undefined, 'Z');
  const short = DATE_TIME_NO_SECONDS.exec(trimmed);
  if (short) return instant(short[1]!, short[2]!, short[3]!, short[4]!, short[5]!, '00', undefined, short[6]);
  return parseDateTime(trimmed);
}

/** `parseDateTime`, as the canonical `toISOString()` form, or null. */
export function normalizeDateTime(text: string): string | null {
  const ms = parseDateTime(text);
  return ms === null ? null : new Date(ms).toISOString();
}

function instant(
  year: string,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
  fraction: string | undefined,
  zone: string | undefined,
): number | null {
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 60) return null;
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // not Date.UTC: it maps years 0–99 to 1900–1999; setUTCFullYear does not
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime() - offsetMinutes * 60_000;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
