import { createHash } from 'node:crypto';

/**
 * Text that both engines store alike in a column (README "Faults"). PostgreSQL's `text` cannot
 * hold U+0000 (the protocol ends a parameter there: the whole commit fails) and turns an unpaired
 * UTF-16 surrogate into U+FFFD; SQLite keeps both. So whatever becomes a column or a key is
 * refused at ingest (the envelope's names) or made storable the same way on both engines here.
 */

/** An unpaired UTF-16 surrogate (every one: global). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** U+0000, or an unpaired surrogate (every one: global). */
const UNSTORABLE = new RegExp(`\\u0000|${LONE_SURROGATE.source}`, 'g');
const ANY_UNSTORABLE = new RegExp(UNSTORABLE.source);

/** `text` with each unpaired surrogate as U+FFFD, as any UTF-8 encoder writes it (`String.prototype.toWellFormed`, not in ES2023). */
export function wellFormedText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Whether `text` holds U+0000 or an unpaired surrogate. */
export function hasUnstorable(text: string): boolean {
  return ANY_UNSTORABLE.test(text);
}

/** `text` with U+0000 and unpaired surrogates replaced by U+FFFD (what PostgreSQL would make of the latter). */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/** Longest key kept as it is (characters); PostgreSQL's b-tree refuses index rows over ~2,700 bytes. */
export const MAX_KEY_CHARS = 256;

/**
 * An order key (a rendered `thread_key`, `upsert_key`) as every engine stores and compares it:
 * `storableText`, and past `MAX_KEY_CHARS` characters `sha256:` and the hex digest of it, so a
 * key rendered from a long field (a transcript) still orders its deliveries and fits an index.
 */
export function storableKey(key: string): string {
  const text = storableText(key);
  return text.length <= MAX_KEY_CHARS ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
