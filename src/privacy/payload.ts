import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { randomSlice } from './random.js';
import type { Entry, NewEntry } from '../log/types.js';

/**
 * Facts and payloads (README "Personal data"). An entry keeps its facts (type, ids, times,
 * statuses, codes) for ever; its payload (an event's body, a plan's rendered request) is
 * stored apart, encrypted under its call's data key, so that erasing the call's key and
 * payload rows erases it for good. Engine-independent: an engine stores `facts` in the entry,
 * `seal(...)` in its payloads table and `digest` beside the facts (the hash chain covers it).
 */

/** What readers show in place of an erased payload. */
export const ERASED = '[erased]';

/** The request fields a projection needs (the key scope: a Slack channel, a HubSpot object type): facts. */
const REQUEST_FACTS = ['channel', 'create'] as const;

/** An entry split for storage. */
export interface Split {
  /** The entry's data without its payload: stored as is, hashed, projected, kept after erasure. */
  facts: Record<string, unknown>;
  /** The payload fields as JSON text, or null for an entry that has none. */
  payload: string | null;
  /** Whose data key seals the payload: the call, or null (an operator plan: the relay's own key). */
  callId: string | null;
}

/** Splits an entry's data into facts and payload. Pure. */
export function splitEntry(entry: NewEntry): Split {
  if (entry.type === 'event.received') {
    const { body, ...facts } = entry.data;
    return { facts, payload: JSON.stringify({ body }), callId: entry.data.call_id };
  }
  if (entry.type === 'delivery.planned') {
    const request = entry.data.request;
    const kept: Record<string, unknown> = {};
    for (const key of REQUEST_FACTS) if (key in request) kept[key] = request[key];
    return { facts: { ...entry.data, request: kept }, payload: JSON.stringify({ request }), callId: entry.data.call_id ?? null };
  }
  return { facts: entry.data as unknown as Record<string, unknown>, payload: null, callId: null };
}

/**
 * The entry's data from its facts and its payload: the payload's fields put back in place, or,
 * when the payload was erased (`payload` null for an entry that had one), `[erased]` instead.
 */
export function joinEntry(type: string, facts: Record<string, unknown>, payload: string | null, hadPayload: boolean): Record<string, unknown> {
  if (!hadPayload) return facts;
  if (payload === null) {
    if (type === 'event.received') return { ...facts, body: ERASED };
    if (type === 'delivery.planned') return { ...facts, request: { ...(facts['request'] as object), erased: true } };
    return facts;
  }
  return { ...facts, ...(JSON.parse(payload) as object) };
}

/** Whether an entry's data is the erased form `joinEntry` gives. */
export function isErased(entry: Entry): boolean {
  if (entry.type === 'event.received') return entry.data.body === ERASED;
  if (entry.type === 'delivery.planned') return entry.data.request['erased'] === true;
  return false;
}

/**
 * The payload's digest the hash chain covers: HMAC-SHA256 under the call's data key. Once the
 * key is erased nobody can test a guessed payload (a phone number) against it.
 */
export function payloadDigest(dataKey: Buffer, payload: string): string {
  return createHmac('sha256', dataKey).update(payload).digest('hex');
}

/** Encrypts `payload` (AES-256-GCM, the entry's seq as associated data): IV, tag, ciphertext. */
export function sealPayload(dataKey: Buffer, seq: number, payload: string): Buffer {
  const iv = randomSlice(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(Buffer.from(String(seq)));
  const sealed = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
}

/** Decrypts what `sealPayload` made for the same seq. Throws when the bytes or the seq do not match. */
export function openPayload(dataKey: Buffer, seq: number, sealed: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', dataKey, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(String(seq)));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
}
