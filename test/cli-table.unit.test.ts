import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayWidth, padColumns, printable, table } from '../src/commands/table.js';

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

  it('lines up names of any script by the columns a terminal draws (CJK and emoji take two)', () => {
    // Given order keys and call ids in Japanese, with an emoji, an accent written as a combining mark, and plain ASCII
    const rows = [
      ['call_日本語', 'succeeded'],
      ['live-call_日本語', 'dead'],
      ['call_😀', 'pending'],
      ['cafe\u0301', 'retrying'],
      ['call_plain', 'succeeded'],
    ];
    // When they are laid out
    const lines = table(['ORDER KEY', 'STATUS'], rows).split('\n');
    // Then the second column starts at the same terminal column on every line
    const statusColumn = (line: string, word: string) => displayWidth(line.slice(0, line.indexOf(word)));
    const expected = displayWidth('live-call_日本語') + 2;
    expect(expected).toBe(18);
    expect(statusColumn(lines[0]!, 'STATUS')).toBe(expected);
    rows.forEach(([, status], i) => expect(statusColumn(lines[i + 1]!, status!)).toBe(expected));
    expect(lines[1]).toBe('call_日本語       succeeded');
  });

  it('measures terminal columns: 2 for CJK, Hangul, fullwidth and emoji, 0 for combining marks, 1 for the rest', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本語')).toBe(6);
    expect(displayWidth('한국')).toBe(4);
    expect(displayWidth('ＡＢ')).toBe(4);
    expect(displayWidth('😀')).toBe(2);
    expect(displayWidth('✓é')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(padColumns('日本', 6)).toBe('日本  ');
    expect(padColumns('toolong', 3)).toBe('toolong');
  });
});
