/**
 * An http sink's signing `secret` (SPEC §6: Standard Webhooks). The Standard Webhooks spec
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
 * "Signature scheme": symmetric signing secret "Random. At least 24 bytes (192 bits, 512
 * maximum)", serialized "base64 encoded, prefixed with `whsec_`") fixes the key's length; a
 * `whsec_` secret whose rest is not base64 used to sign with a key of whatever bytes a lenient
 * decoder made of it, possibly none, so anyone could forge the signatures.
 */

/** Shortest signing key: the Standard Webhooks minimum. (Default: 24 bytes) */
export const MIN_SIGNING_KEY_BYTES = 24;

/** Longest signing key: the Standard Webhooks maximum, 512 bits. (Default: 64 bytes) */
export const MAX_SIGNING_KEY_BYTES = 64;

/**
 * Shortest secret that is not a `whsec_` one (used as its UTF-8 bytes): as long as the
 * shortest key Standard Webhooks allows. (Default: 24 bytes)
 */
export const MIN_PLAIN_SECRET_BYTES = MIN_SIGNING_KEY_BYTES;

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why `secret` cannot sign, in words that never repeat it; null when it can. */
export function secretProblem(secret: string): string | null {
  if (secret.startsWith('whsec_')) {
    const encoded = secret.slice('whsec_'.length);
    if (!STRICT_BASE64.test(encoded)) {
      return 'secret: after "whsec_" a Standard Webhooks secret is base64 (A-Z a-z 0-9 + /, padded with =), and this is not';
    }
    const bytes = Buffer.from(encoded, 'base64').length;
    if (bytes < MIN_SIGNING_KEY_BYTES || bytes > MAX_SIGNING_KEY_BYTES) {
      return `secret: a "whsec_" key must be ${MIN_SIGNING_KEY_BYTES} to ${MAX_SIGNING_KEY_BYTES} bytes (Standard Webhooks), and this one is ${bytes}`;
    }
    return null;
  }
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_PLAIN_SECRET_BYTES) {
    return `secret: ${bytes} bytes is too short to sign with; use at least ${MIN_PLAIN_SECRET_BYTES} (e.g. "whsec_" + \`openssl rand -base64 32\`)`;
  }
  return null;
}
