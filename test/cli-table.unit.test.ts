import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { printable, table } from '../src/commands/table.js';

const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** Any text, control characters and separators likely. */
const text = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('\n', '\r', '\t', '\u001b', '[', '\u0007', '\u009b', '\u202e', '\u2028', 'a', ' ', '\\', 'é', '😀') }),
);

describe('table() and printable()', () => {
  it('whatever the cells, one line per row, and no character a terminal acts on', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text, text), { maxLength: 8 }), (rows) => {
        // When any cells are laid out
        const out = table(['A', 'B', 'C'], rows);
        // Then the table has exactly a header and one line per row, and nothing raw
        expect(out.split('\n')).toHaveLength(rows.length + 1);
        expect(out).not.toMatch(RAW_CONTROL);
      }),
    );
  });

  it('leaves printable text alone and names each control character', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !RAW_CONTROL.test(s)), (s) => {
        expect(printable(s)).toBe(s);
      }),
    );
    expect(printable('a\nb\rc\td\u0000e\u001bf\u007fg\u009bh\u202ei\u2028')).toBe('a\\nb\\rc\\td\\u0000e\\u001bf\\u007fg\\u009bh\\u202ei\\u2028');
  });

  it('aligns on the escaped text', () => {
    expect(table(['ID', 'X'], [['a\u001b', '1'], ['bb', '2']])).toBe('ID       X\na\\u001b  1\nbb       2');
  });
});
