import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { SECRET, makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';
import { DEFAULTS } from '../src/config/defaults.js';

const headers = (body: string) => ({ 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) });

/** A valid envelope whose `data.x` is the given JSON text. */
const withX = (json: string) => makeEvent({}, { x: '__X__' }).replace('"__X__"', json);

/** `n` levels of arrays: `[[[…]]]`. */
const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);

// the envelope is level 1 and `data` level 2, so `data.x` may nest 62 levels more
const ALLOWED_IN_X = DEFAULTS.http.maxJsonDepth - 2;

const tooDeep: Array<{ name: string; body: () => string; path: RegExp }> = [
  // the input: a ~12 KB event whose data.x is 6,000 nested arrays
  { name: '6,000 nested arrays in data.x (12 KB)', body: () => withX(arrays(6000)), path: /^data\.x(\.0)+/ },
  { name: 'one level past the limit', body: () => withX(arrays(ALLOWED_IN_X + 1)), path: /^data\.x(\.0){62}$/ },
  { name: '10,000 nested objects', body: () => withX('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)), path: /^data\.x(\.a)+/ },
  {
    name: 'objects and arrays mixed, deep in the second element of a list',
    body: () => withX(`[1, ${'{"k":['.repeat(40)}true${']}'.repeat(40)}]`),
    path: /^data\.x\.1(\.k\.0)+/,
  },
  { name: 'a deep value in a field beside data', body: () => makeEvent({ extra: JSON.parse(arrays(100)) }), path: /^extra(\.0)+/ },
  { name: 'deep inside a string-keyed map with odd keys', body: () => withX(`{"a.b":${'{"\\"":'.repeat(70)}null${'}'.repeat(70)}}`), path: /^data\.x\.a\.b/ },
];

describe('POST /webhooks/husky refuses events nested deeper than DEFAULTS.http.maxJsonDepth', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ maxBodyBytes: 4 * 1024 * 1024 });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it.each(tooDeep)('$name → 422 naming where and the limit, nothing stored, the next event 200', async ({ body, path }) => {
    // Given a signed event nested too deep
    const bytes = body();
    const before = relay.log.lastSeq();
    // When it is posted
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(bytes), body: bytes });
    // Then it is refused as an envelope the relay cannot handle, saying where and the limit
    expect(got.status).toBe(422);
    expect(got.body.error).toBe('invalid_envelope');
    expect(got.body.details).toHaveLength(1);
    expect(got.body.details[0].path).toMatch(path);
    expect(got.body.details[0].message).toContain(String(DEFAULTS.http.maxJsonDepth));
    expect(relay.log.lastSeq()).toBe(before);
    // And the relay keeps serving: a valid event right after is stored
    const next = makeEvent();
    const accepted = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(next), body: next });
    expect(accepted.status).toBe(200);
    expect(accepted.body.seq).toBe(before + 1);
  });

  it('accepts an event exactly at the limit, and stores its bytes', async () => {
    // Given data.x nested to the deepest the limit allows (64 levels counting the envelope)
    const bytes = withX(arrays(ALLOWED_IN_X));
    // When it is posted
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(bytes), body: bytes });
    // Then it is accepted as any other event
    expect(got.status).toBe(200);
    expect(relay.log.read(got.body.seq - 1)[0]?.data).toMatchObject({ body: bytes });
  });

  it('accepts a wide event with many brackets but little depth (a long transcript)', async () => {
    const turns = Array.from({ length: 500 }, (_, i) => ({ speaker: i % 2 ? 'agent' : 'caller', words: [{ w: 'hi', t: [i, i + 1] }] }));
    const bytes = makeEvent({}, { transcript: turns });
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(bytes), body: bytes });
    expect(got.status).toBe(200);
  });

  it('brackets inside strings do not count as nesting', async () => {
    const bytes = makeEvent({}, { summary: '['.repeat(5000) + '{'.repeat(5000) });
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(bytes), body: bytes });
    expect(got.status).toBe(200);
  });
});
