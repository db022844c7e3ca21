/**
 * One line of a rendered request, for `replay --dry-run`: the fields a reader checks first
 * (where it goes, what it says), then the rest as JSON; line breaks shown as ⏎; cut at
 * `width` characters.
 */
export function preview(request: Record<string, unknown>, width = 100): string {
  const parts: string[] = [];
  const rest: Record<string, unknown> = { ...request };
  for (const key of ['channel', 'create', 'method', 'text']) {
    const value = rest[key];
    if (typeof value === 'string') {
      parts.push(key === 'text' ? JSON.stringify(value) : value);
      delete rest[key];
    }
  }
  if (Object.keys(rest).length > 0) parts.push(JSON.stringify(rest));
  const line = parts.join(' ').replace(/\\n|\r?\n/g, '⏎').replace(/\s+/g, ' ');
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}
