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

/**
 * `printable` that keeps line breaks and tabs (`\n`, `\r`, `\t`) as they are: for text that
 * a page lays out itself (the console's `<pre>` blocks of a body or a transcript), where they
 * move nothing but the text's own lines. Every other control is escaped as `printable` does.
 */
export function printableKeepingLayout(text: string): string {
  return text.replace(UNPRINTABLE, (c) => (c === '\n' || c === '\r' || c === '\t' ? c : printable(c)));
}

/**
 * `printable` for text of several lines (a rendered request, a body, an error listing
 * problems): each line's characters escaped, the line breaks between them kept, so nothing
 * within a line can move the cursor, overwrite what is shown or reorder it.
 */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/**
 * Characters a terminal draws two columns wide: East Asian Wide and Fullwidth ones (Hangul
 * Jamo, CJK ideographs and punctuation, kana, Hangul syllables, fullwidth forms) and emoji
 * shown as emoji by default (😀, not ✓).
 */
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{1b000}-\u{1b2ff}\u{1f200}-\u{1f2ff}\u{20000}-\u{2fffd}\u{30000}-\u{3fffd}]|\p{Emoji_Presentation}/u;
/** Characters drawn on top of the previous one or not at all: combining marks, zero-width spaces and joiners, variation selectors. */
const ZERO_WIDTH = /[\p{Mn}\p{Me}\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/u;

/**
 * How many terminal columns `text` takes: 2 per wide character (CJK, emoji), 0 per combining
 * mark or zero-width character, 1 for any other. Meant for `printable` text (no controls).
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const c of text) width += ZERO_WIDTH.test(c) ? 0 : WIDE.test(c) ? 2 : 1;
  return width;
}

/** `text` followed by spaces up to `width` terminal columns (see `displayWidth`); never cut. */
export function padColumns(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/**
 * A value read from an entry's data as text to show: a string as it is, a missing one
 * (undefined, null) as `-`, a number or boolean as written, anything else as its JSON. Data
 * that is JSON but not of the shape its entry type has (a damaged entry, a hand edit) is shown
 * so, never a crash: the printers take each value as stored, without checking its shape.
 */
export function cellText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '-';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A template tag: each value interpolated as `cellText` writes it (a missing field `-`, not `undefined`). */
export function shown(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, text, i) => out + cellText(values[i - 1]) + text);
}

/**
 * Aligned columns for human output, measured in terminal columns (a CJK character or an emoji
 * takes two), so names of any script line up; the last column is never padded. Cells are made
 * `printable`; a cell that is not a string (read from data of another shape than its entry
 * type's) is shown as `cellText` writes it.
 */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows].map((row) => row.map((cell) => printable(cellText(cell))));
  const widths = header.map((_, i) => Math.max(...all.map((row) => displayWidth(row[i] ?? ''))));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : padColumns(cell, widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
