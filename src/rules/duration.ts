/** `250ms`, `10s`, `5m`, `1h`: the only spellings the rules file accepts (README "Rules file"). */
export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h)$';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Milliseconds, or null when `text` is not a duration. With `days`, `90d` is one too (the
 * spelling of `--retention`, whose windows are weeks; the rules file's are not).
 */
export function parseDuration(text: string, options: { days?: boolean } = {}): number | null {
  const match = (options.days ? /^([0-9]+)(ms|s|m|h|d)$/ : /^([0-9]+)(ms|s|m|h)$/).exec(text);
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/**
 * Seconds as a person says them: 124 → `2m 4s`, 3600 → `1h`, 0 → `0s`. Fractions are
 * rounded to the second; anything that is not a finite non-negative number comes back as is.
 */
export function formatSeconds(value: unknown): string {
  const n = typeof value === 'string' && /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return value == null ? '' : String(value);
  let rest = Math.round(n);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].filter(Boolean);
  return parts.length ? parts.join(' ') : '0s';
}
