import { createHmac, timingSafeEqual } from 'node:crypto';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * True if `header` is the HMAC-SHA256 of the exact body bytes under any of the secrets
 * (several during a rotation). Accepts upper-case hex and a `sha256=` prefix. Every secret
 * is tried, and compared in constant time, so timing tells nothing about which failed how.
 */
export function verifySignature(body: Buffer, header: string, secrets: readonly string[]): boolean {
  const hex = header.trim().replace(/^sha256=/i, '').toLowerCase();
  if (!HEX_SHA256.test(hex)) return false;
  const given = Buffer.from(hex, 'hex');
  let valid = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    if (timingSafeEqual(expected, given)) valid = true;
  }
  return valid;
}

/** The header value HuskyVoice sends: lower-case hex, no prefix. */
export function sign(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
