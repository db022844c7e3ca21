
import type { AttemptOutcome } from './types.js';
import { DEFAULTS } from '../config/defaults.js';

/** What a masked run of characters becomes. */
export const REDACTED = '[redacted]';

/**
 * Masks a sink's secrets in any text a remote answer or an SDK error can put in an error:
 * `last_error`, the log's entries, the relay's log lines. A receiver that echoes request
 * headers may quote a secret whole, cut at the edge of its own excerpt, URL-encoded,
 * JSON-escaped (also with `\/`), base64'd, or in another letter case; so every run of at
 * least `DEFAULTS.errors.minSecretFragment` characters that occurs in any of those forms of a secret is
 * masked, wherever it is. A secret shorter than that is masked where it stands as a word of
 * its own (so a header value `prod` does not garble `production`).
 */
export interface Redactor {
  redact(text: string): string;
  /** `redact`, then cut to `DEFAULTS.errors.detailChars` (redacting first: a cut can never leave part of a secret). */
  excerpt(text: string): string;
}

const WORD = /^[a-z0-9]$/;

/** Words of a header value that name an HTTP authentication scheme, not a credential. */
const AUTH_SCHEMES = /^(bearer|basic|digest|token|bot|negotiate|apikey)$/i;

/**
 * A redactor for these secrets (a token, a signing secret, header values). A value of several
 * words is taken word by word, so `Bearer abc…` masks `abc…` wherever it is quoted and leaves
 * the scheme `Bearer` readable. Empty and undefined ones are ignored; so are words under 4
 * characters, which occur everywhere.
 */
export function redactorFor(secrets: readonly (string | undefined)[]): Redactor {
  const grams = new Set<string>();
  const whole = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    const words = secret.split(/\s+/).filter((word) => word.length >= 4 && !AUTH_SCHEMES.test(word));
    for (const part of words) {
      for (const form of forms(part)) {
        const lower = lowerSameLength(form);
        if (lower.length < DEFAULTS.errors.minSecretFragment) whole.add(lower);
        for (let i = 0; i + DEFAULTS.errors.minSecretFragment <= lower.length; i++) grams.add(lower.slice(i, i + DEFAULTS.errors.minSecretFragment));
      }
    }
  }
  const redact = (text: string): string => {
    if (grams.size === 0 && whole.size === 0) return text;
    const lower = lowerSameLength(text);
    const masked = new Uint8Array(text.length);
    for (let i = 0; i + DEFAULTS.errors.minSecretFragment <= lower.length; i++) {
      if (grams.has(lower.slice(i, i + DEFAULTS.errors.minSecretFragment))) masked.fill(1, i, i + DEFAULTS.errors.minSecretFragment);
    }
    for (const w of whole) {
      for (let at = lower.indexOf(w); at !== -1; at = lower.indexOf(w, at + 1)) {
        // a short secret inside a longer word is that word, not the secret
        if (!WORD.test(lower[at - 1] ?? '') && !WORD.test(lower[at + w.length] ?? '')) masked.fill(1, at, at + w.length);
      }
    }
    let out = '';
    for (let i = 0; i < text.length; i++) {
      if (!masked[i]) out += text[i];
      else if (i === 0 || !masked[i - 1]) out += REDACTED;
    }
    return out;
  };
  return {
    redact,
    excerpt: (text) => cut(redact(text), DEFAULTS.errors.detailChars),
  };
}

/** At most `max` characters and an ellipsis; a `[redacted]` the cut would split is kept whole. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = text.lastIndexOf(REDACTED, max - 1);
  const end = marker !== -1 && marker + REDACTED.length > max ? marker + REDACTED.length : max;
  return end >= text.length ? text : `${text.slice(0, end)}…`;
}

/**
 * A failed outcome with the secrets masked in its message and code (a remote service's
 * `error` can be any text), then each cut to its bound: `DEFAULTS.errors.messageChars`, `DEFAULTS.errors.codeChars`.
 */
export function redactOutcome(outcome: AttemptOutcome, redactor: Redactor): AttemptOutcome {
  if (outcome.outcome === 'succeeded') return outcome;
  const { error } = outcome;
  const code = redactor.redact(error.code).slice(0, DEFAULTS.errors.codeChars);
  return { ...outcome, error: { ...error, code, message: cut(redactor.redact(error.message), DEFAULTS.errors.messageChars) } };
}

/** The ways a secret shows up in an echo: as is, URL-encoded, JSON-escaped, base64. */
function forms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const bytes = Buffer.from(secret, 'utf8');
  const all = [
    secret,
    encodeURIComponent(secret),
    json,
    json.replaceAll('/', '\\/'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
  ];
  return [...new Set(all)];
}

/** Lower case, one UTF-16 unit for one (so indexes into it are indexes into the original). */
function lowerSameLength(text: string): string {
  const lower = text.toLowerCase();
  if (lower.length === text.length) return lower;
  let out = '';
  for (const unit of text) {
    const l = unit.toLowerCase();
    out += l.length === unit.length ? l : unit;
  }
  return out;
}
