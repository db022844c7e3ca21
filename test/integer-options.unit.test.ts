import { describe, expect, it } from 'vitest';
import { parseLimit } from '../src/commands/deliveries.js';
import { parsePort } from '../src/config/resolve.js';
import { UserError } from '../src/errors.js';

/** The error `parse(value)` throws: a `UserError`, its one line. */
function refusal(parse: (value: string) => number, value: string): string {
  try {
    parse(value);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).message;
  }
  throw new Error(`${JSON.stringify(value)} was taken`);
}

/**
 * The CLI's integer options take digits alone, as their help says (QA: `deliveries --limit " 5"`
 * was taken for 5; `Number` also read "0x10" as 16 and "1e3" as 1000 for a port).
 */
const NOT_DIGITS = [' 5', '5 ', '\t5', '+5', '5.0', '0x10', '1e3', '5_0', '５', ''];

describe('deliveries --limit', () => {
  it.each(NOT_DIGITS)('%j: refused with the line other bad limits get', (value) => {
    expect(refusal(parseLimit, value)).toBe(`--limit: "${value}" is not a positive whole number`);
  });

  it('digits are taken as the number they write', () => {
    expect([parseLimit('5'), parseLimit('050'), parseLimit(String(Number.MAX_SAFE_INTEGER))]).toEqual([5, 50, Number.MAX_SAFE_INTEGER]);
  });
});

describe('serve --port and PORT', () => {
  it.each(NOT_DIGITS)('%j: refused as no port number, naming where it came from', (value) => {
    expect(refusal(parsePort, value)).toBe(`--port: "${value}" is not a port number`);
    expect(refusal((v) => parsePort(v, 'PORT'), value)).toBe(`PORT: "${value}" is not a port number`);
  });

  it('digits from 0 to 65535 are taken', () => {
    expect([parsePort('0'), parsePort('8080'), parsePort('65535')]).toEqual([0, 8080, 65535]);
    expect(refusal(parsePort, '65536')).toBe('--port: "65536" is not a port number');
  });
});
