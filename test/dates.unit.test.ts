import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeDateTime, parseDateOrDateTime, parseDateTime } from '../src/dates.js';

describe('parseDateTime (RFC 3339, zone-less = UTC)', () => {
  it('reads a zone-less date-time as UTC, whatever the host zone', () => {
    // Given the sample of issue 12: no zone
    // Then it is 10:00 UTC, not 14:00Z (New York) nor 01:00Z (Tokyo)
    expect(normalizeDateTime('2026-06-01T10:00:00')).toBe('2026-06-01T10:00:00.000Z');
    expect(normalizeDateTime('2026-06-01T10:00:00Z')).toBe('2026-06-01T10:00:00.000Z');
  });

  it('applies offsets, fractions and the liberties RFC 3339 allows', () => {
    expect(normalizeDateTime('2026-06-01T12:00:00+02:00')).toBe('2026-06-01T10:00:00.000Z');
    expect(normalizeDateTime('2026-06-01T05:30:00-04:30')).toBe('2026-06-01T10:00:00.000Z');
    expect(normalizeDateTime('2026-06-01t10:00:00.123456789z')).toBe('2026-06-01T10:00:00.123Z');
    expect(normalizeDateTime('2026-06-01 10:00:00Z')).toBe('2026-06-01T10:00:00.000Z');
    expect(normalizeDateTime('2016-12-31T23:59:60Z')).toBe('2017-01-01T00:00:00.000Z');
    expect(normalizeDateTime('0099-01-01T00:00:00Z')).toBe('0099-01-01T00:00:00.000Z');
  });

  it('refuses what is not an RFC 3339 date-time, or names a moment that does not exist', () => {
    for (const text of [
      'June 1, 2026',
      '-3',
      '2026-06-01',
      '2026-06-01T10:00',
      '2026-06-01T10:00:00+0200',
      '2026-02-30T10:00:00Z',
      '2025-02-29T10:00:00Z',
      '2026-13-01T10:00:00Z',
      '2026-06-01T24:00:00Z',
      '2026-06-01T10:60:00Z',
      '2026-06-01T10:00:00+24:00',
      ' 2026-06-01T10:00:00Z',
      '1717236000',
      '',
    ]) {
      expect(parseDateTime(text), text).toBeNull();
    }
    expect(parseDateTime('2024-02-29T10:00:00Z')).toBe(Date.UTC(2024, 1, 29, 10));
  });

  it('agrees with UTC arithmetic for every valid date-time', () => {
    fc.assert(
      fc.property(
        fc.record({
          y: fc.integer({ min: 1970, max: 2999 }),
          mo: fc.integer({ min: 1, max: 12 }),
          d: fc.integer({ min: 1, max: 28 }),
          h: fc.integer({ min: 0, max: 23 }),
          mi: fc.integer({ min: 0, max: 59 }),
          s: fc.integer({ min: 0, max: 59 }),
          off: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        }),
        ({ y, mo, d, h, mi, s, off }) => {
          const p = (n: number, w = 2) => String(n).padStart(w, '0');
          const zone = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
          const text = `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}${zone}`;
          expect(parseDateTime(text)).toBe(Date.UTC(y, mo - 1, d, h, mi, s) - off * 60_000);
        },
      ),
    );
  });
});

describe('parseDateOrDateTime (command-line filters)', () => {
  it('takes a bare date as midnight UTC, and a date-time without seconds', () => {
    expect(parseDateOrDateTime('2026-06-01')).toBe(Date.UTC(2026, 5, 1));
    expect(parseDateOrDateTime('2026-06-01T09:00')).toBe(Date.UTC(2026, 5, 1, 9));
    expect(parseDateOrDateTime('2026-06-01T09:00+01:00')).toBe(Date.UTC(2026, 5, 1, 8));
    expect(parseDateOrDateTime('2026-06-01T09:00:30Z')).toBe(Date.UTC(2026, 5, 1, 9, 0, 30));
    expect(parseDateOrDateTime('yesterday')).toBeNull();
    expect(parseDateOrDateTime('2026-06-31')).toBeNull();
  });
});
