import { UserError } from '../errors.js';
import { misshapenEntryError } from '../log/entry-shape.js';
import type { Entry } from '../log/types.js';
/**
 * Which calls `erase --contact EMAIL_OR_PHONE` means (README "Personal data"): every call with
 * an event whose `data` holds that email (any case) or that phone number (the same digits,
 * whatever the spaces, dashes, brackets or leading `+`). Pure.
 */

/** How a contact is compared: an email in lower case, a phone as its digits; null when it is neither. */
export function contactKey(value: string): string | null {
  const text = value.trim();
  if (text.includes('@')) return text.toLowerCase();
  const digits = text.replace(/[\s\-().+]/g, '');
  return /^\d{5,}$/.test(digits) ? digits : null;
}

/** Whether an event envelope's `data` holds `key` (a `contactKey`) in any string field, at any depth. */
export function mentionsContact(envelope: unknown, key: string): boolean {
  const data = (envelope as { data?: unknown } | null)?.data;
  const visit = (value: unknown, depth: number): boolean => {
    if (typeof value === 'string') return value.length < 320 && contactKey(value) === key;
    if (depth > 8 || value === null || typeof value !== 'object') return false;
    return Object.values(value).some((v) => visit(v, depth + 1));
  };
  return visit(data, 0);
}

/** `contactKey` of `erase --contact`'s value. Throws `UserError` when it is neither an email nor a phone number. */
export function contactKeyOf(contact: string): string {
  const key = contactKey(contact);
  if (key === null) throw new UserError(`erase --contact: "${contact}" is neither an email nor a phone number`);
  return key;
}

/** Whether an event's body (the envelope as JSON text; `[erased]` or any non-JSON holds nothing) mentions `key`. */
export function bodyMentions(body: string, key: string): boolean {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    return false;
  }
  return mentionsContact(envelope, key);
}

/**
 * Adds to `found` the call of an `event.received` entry whose body mentions `key` (a
 * `contactKey`). Throws `DamagedEntryError` when such an entry's data is not what an
 * `event.received` holds (its `call_id` missing or not text: a hand edit): the call it is about
 * cannot be told, and an erasure must not pass over it in silence.
 */
export function addCallMentioning(found: Set<string>, entry: Entry & { type: 'event.received' }, key: string): void {
  if (found.has(entry.data.call_id) || !bodyMentions(entry.data.body, key)) return;
  const damaged = misshapenEntryError(entry);
  if (damaged) throw damaged;
  found.add(entry.data.call_id);
}
