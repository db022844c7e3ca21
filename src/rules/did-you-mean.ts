/** Levenshtein distance; names in a rules file are short, so the O(n·m) table is fine. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The line for a name nothing knows: `no sink "slak" in the rules or the log (did you mean
 * "slack"?); known sinks: console, slack` (`where` follows the name; `none` when nothing is
 * known). Null when `known` has it. The caller makes it printable where it is shown.
 */
export function unknownNameLine(what: string, plural: string, value: string, known: readonly string[], where: string): string | null {
  if (known.includes(value)) return null;
  return `no ${what} "${value}"${where}${didYouMean(value, known)}; known ${plural}: ${known.length > 0 ? known.join(', ') : 'none'}`;
}

/** ` (did you mean "slack"?)` for the closest candidate within a third of the longer name, else ``. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  if (best === undefined) return '';
  const limit = Math.max(2, Math.ceil(Math.max(name.length, best.length) / 3));
  return bestDistance <= limit ? ` (did you mean "${best}"?)` : '';
}
