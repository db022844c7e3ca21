import { describe, expect, it } from 'vitest';
import { MAX_KEY_CHARS, storableKey, storableText } from '../src/log/text.js';

/** What becomes a column or a key is stored alike on both engines (README "Faults"). */
describe('storable text and keys', () => {
  it('replaces U+0000 and unpaired surrogates by U+FFFD, keeps pairs (emoji) and everything else', () => {
    expect(storableText('a\u0000b\ud800c\udc00d😀e\n')).toBe('a\ufffdb\ufffdc\ufffdd😀e\n');
    expect(storableText('plain')).toBe('plain');
  });

  it('keeps a key up to 256 characters; a longer one (a thread key rendered from a transcript) becomes its SHA-256, the same for the same text', () => {
    const short = 'k'.repeat(MAX_KEY_CHARS);
    expect(storableKey(short)).toBe(short);
    const long = 'transcript '.repeat(400);
    expect(storableKey(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(storableKey(long)).toBe(storableKey(long));
    expect(storableKey(`${long}!`)).not.toBe(storableKey(long));
    expect(storableKey('x\u0000')).toBe('x\ufffd');
  });
});
