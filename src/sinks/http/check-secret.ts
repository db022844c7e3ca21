/**
 * An http sink's signing `secret` (README "Rules file": Standard Webhooks). The Standard Webhooks spec
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
 * "Signature scheme": symmetric signing secret "Random. At least 24 bytes (192 bits, 512
 * maximum)", serialized "base64 encoded, prefixed with `whsec_`") fixes the key's length; a
 * `whsec_` secret whose rest is not base64 used to sign with a key of whatever bytes a lenient
 * decoder made of it, possibly none, so anyone could forge the signatures.
 */

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
import { DEFAULTS } from '../../config/defaults.js';

/** Why `secret` cannot sign, in words that never repeat it; null when it can. */
export function secretProblem(secret: string): string | null {
  if (secret.startsWith('whsec_')) {
    const encoded = secret.slice('whsec_'.length);
    if (!STRICT_BASE64.test(encoded)) {
      return 'secret: after "whsec_" a Standard Webhooks secret is base64 (A-Z a-z 0-9 + /, padded with =), and this is not';
    }
    const bytes = Buffer.from(encoded, 'base64').length;
    if (bytes < DEFAULTS.rules.minSigningKeyBytes || bytes > DEFAULTS.rules.maxSigningKeyBytes) {
      return `secret: a "whsec_" key must be ${DEFAULTS.rules.minSigningKeyBytes} to ${DEFAULTS.rules.maxSigningKeyBytes} bytes (Standard Webhooks), and this one is ${bytes}`;
    }
    return null;
  }
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < DEFAULTS.rules.minSigningKeyBytes) {
    return `secret: ${bytes} bytes is too short to sign with; use at least ${DEFAULTS.rules.minSigningKeyBytes} (e.g. "whsec_" + \`openssl rand -base64 32\`)`;
  }
  return null;
}
