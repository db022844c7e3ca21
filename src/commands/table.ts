/**
 * What a terminal would act on instead of showing: C0 and C1 controls (ESC starts colour
 * changes, cursor moves, title and clipboard writes; CSI is U+009B on some terminals), DEL,
 * the Unicode line and paragraph separators, and the bidirectional controls that reorder
 * what is shown ("Trojan Source").
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with every character a terminal would interpret written as a visible escape
 * (`\n`, `\t`, `\u001b`), so that data (an event id, a sink's error) can neither break a
 * table's lines nor send commands to the terminal. Everything else is left as it is.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Aligned columns for human output; the last column is never padded. Cells are made `printable`. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows].map((row) => row.map(printable));
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
