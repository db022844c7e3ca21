/*
 * Text read from bytes a user or a sender supplies (a webhook body, the rules file, an event
 * file for `rules test`, `.env`) is read one way everywhere: UTF-8, and a leading byte order
 * mark is not part of the text (RFC 8259 §8.1 lets a JSON parser ignore one; YAML 1.2 allows
 * one; editors on Windows write one). So a file the relay takes at ingest is one `rules test`
 * takes too, and a `.env` saved with a BOM keeps its first variable.
 */

const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/**
 * `bytes` as text, without a leading UTF-8 byte order mark (only the first; a BOM further on is
 * kept as the U+FEFF it is). Throws a `TypeError` when the bytes are not valid UTF-8, unless
 * `lenient` (default false), which puts U+FFFD in place of each invalid sequence instead.
 */
export function utf8Text(bytes: Uint8Array, { lenient: replace = false }: { lenient?: boolean } = {}): string {
  return (replace ? lenient : strict).decode(bytes);
}
