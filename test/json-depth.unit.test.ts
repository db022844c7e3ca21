import { describe, expect, it } from 'vitest';
import { exceedsDepth } from '../src/json-depth.js';

describe('exceedsDepth', () => {
  it('counts each object or array level, and scalars as none', () => {
    expect(exceedsDepth(1, 0)).toBe(false);
    expect(exceedsDepth({}, 0)).toBe(true);
    expect(exceedsDepth({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(exceedsDepth({ a: [1, { b: {} }] }, 3)).toBe(true);
  });

  it('measures 100,000 levels without overflowing the stack', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    expect(exceedsDepth(deep, 64)).toBe(true);
    expect(exceedsDepth(deep, 100_000)).toBe(false);
  });
});
