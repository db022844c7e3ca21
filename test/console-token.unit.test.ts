import { describe, expect, it } from 'vitest';
import { tokenMatches } from '../src/console/token.js';

/**
 * The console token is compared in constant time (README "Console", issue 15): both sides are
 * hashed first and compared with `crypto.timingSafeEqual`, so a wrong token of any length is a
 * plain no (`timingSafeEqual` itself throws on unequal lengths). Time is never measured in a
 * test; this holds what the comparison answers.
 */
const TOKEN = 'hrui_0123456789abcdefghijklmnopqrstuvwxyzAB';

describe('the console token comparison', () => {
  it('accepts the token and only the token, whatever the length of what was typed', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    for (const wrong of ['', 'h', TOKEN.slice(0, -1), `${TOKEN}x`, `${TOKEN.slice(0, -1)}C`, TOKEN.toUpperCase(), ` ${TOKEN}`, 'x'.repeat(10_000)]) {
      expect(tokenMatches(TOKEN, wrong), JSON.stringify(wrong.slice(0, 60))).toBe(false);
    }
  });
});
