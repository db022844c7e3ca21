/**
 * One line of a rendered request, for `replay --dry-run`: the fields a reader checks first
 * (where it goes, what it says), then the rest as JSON, then an http body sent as received
 * (`body_text`) as `body TEXT`, plain, as `rules test` shows it, not as an escaped JSON string;
 * line breaks shown as ⏎; cut at `width` characters. The caller escapes it for the terminal (`printable`).
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
  const text = rest['body_text'];
  delete rest['body_text'];
  if (Object.keys(rest).length > 0) parts.push(JSON.stringify(rest));
  if (typeof text === 'string') parts.push(`body ${text}`);
  const line = parts.join(' ').replace(/\\n|\r?\n/g, '⏎').replace(/\s+/g, ' ');
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}
