import { DEFAULTS } from '../../src/config/defaults.js';

/**
 * The first run of `DEFAULTS.errors.minSecretFragment` characters of `secret` found in `text`
 * (any case), else null: what redaction must never let through.
 */
export function leak(text: string, secret: string): string | null {
  const lower = text.toLowerCase();
  for (let i = 0; i + DEFAULTS.errors.minSecretFragment <= secret.length; i++) {
    const part = secret.slice(i, i + DEFAULTS.errors.minSecretFragment);
    if (lower.includes(part.toLowerCase())) return part;
  }
  return null;
}
