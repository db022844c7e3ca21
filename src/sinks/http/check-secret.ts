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
import { count } from '../../count.js';

/**
 * Why `secret` cannot sign, in words that never repeat it; null when it can. Besides the
 * Standard Webhooks rules: whitespace only (a `${VAR}` set to spaces), whitespace around it (a
 * pasted line break: it would be part of the key, where the receiver's copy has none), and a
 * `WHSEC_` or `Whsec_` prefix (the prefix is lowercase; as written the whole text would be the
 * key, and no Standard Webhooks library would verify it), and `whsec_` after other text (a pasted
 * `v1,whsec_…`: used as text, the key would be one the receiver never verifies with).
 */
export function secretProblem(secret: string): string | null {
  if (secret.trim() === '') return 'secret: it is only whitespace (a ${VAR} set to spaces?); set the secret, or leave the variable unset to disable the sink';
  if (secret !== secret.trim()) {
    return 'secret: it begins or ends with whitespace (a pasted line break?), which would be part of the signing key; remove it';
  }
  const inner = secret.search(/whsec_/i);
  if (inner > 0) {
    const before = inner <= 3 ? ` ("${secret.slice(0, inner)}")` : '';
    return `secret: "whsec_" comes after ${inner} other characters${before}; a Standard Webhooks secret begins with "whsec_" (a "v1," before it is the version of a signature, not part of the secret): remove what comes before it`;
  }
  if (/^whsec_/i.test(secret) && !secret.startsWith('whsec_')) {
    return `secret: the Standard Webhooks prefix is lowercase "whsec_", not "${secret.slice(0, 6)}"; as written, the whole text would be the key`;
  }
  if (secret.startsWith('whsec_')) {
    const encoded = secret.slice('whsec_'.length);
    if (/\s/.test(encoded)) return 'secret: after "whsec_" there is whitespace; a Standard Webhooks secret is base64 with no spaces or line breaks';
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
    return `secret: ${count(bytes, 'byte', 'bytes')} is too short to sign with; use at least ${DEFAULTS.rules.minSigningKeyBytes} (e.g. "whsec_" + \`openssl rand -base64 32\`)`;
  }
  return null;
}
