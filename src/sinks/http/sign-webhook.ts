import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `v1,` + base64
 * HMAC-SHA256 of `${id}.${timestamp}.${body}`. A `whsec_` secret is base64 key bytes;
 * any other string is used as its UTF-8 bytes.
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three headers a receiver verifies. */
export function webhookHeaders(secret: string | undefined, id: string, timestampSeconds: number, body: string): Record<string, string> {
  const headers: Record<string, string> = { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds) };
  if (secret) headers['webhook-signature'] = signWebhook(secret, id, timestampSeconds, body);
  return headers;
}
