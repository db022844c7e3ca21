import { describe, expect, it } from 'vitest';
import { count, plural } from '../src/count.js';

describe('count and plural (Intl.PluralRules en-US)', () => {
  it('one for exactly 1, the other form for 0, 2, 1.5 and large numbers', () => {
    expect([0, 1, 2, 1.5, 1000].map((n) => count(n, 'entry', 'entries'))).toEqual(['0 entries', '1 entry', '2 entries', '1.5 entries', '1000 entries']);
    expect(plural(1, 'delivery', 'deliveries')).toBe('delivery');
    expect(plural(-1, 'delivery', 'deliveries')).toBe('delivery');
  });

  it('grouped: en-US thousands separators', () => {
    expect(count(12345, 'event', 'events', true)).toBe('12,345 events');
    expect(count(1, 'event', 'events', true)).toBe('1 event');
  });
});
