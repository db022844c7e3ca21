import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { SECRET, makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';

const headers = (body: string) => ({ 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) });

// what Date.parse takes (and reads in the host's zone, or guesses) but RFC 3339 does not
const refused = [
  '2026-06-01',
  '2026-06-01T10:00',
  'June 1, 2026 10:00:00',
  'Mon, 01 Jun 2026 10:00:00 GMT',
  '2026-06-01T10:00:00 GMT',
  '2026/06/01 10:00:00',
  '2026-02-30T10:00:00Z',
  '2026-06-01T24:00:00Z',
  '2026-06-01T10:00:00+25:00',
  '1780308000',
  '-3',
  ' 2026-06-01T10:00:00Z',
  '',
];

const accepted: Array<[string, string]> = [
  ['2026-06-01T10:00:00Z', '2026-06-01T10:00:00.000Z'],
  // zone-less is UTC, whatever the host's zone
  ['2026-06-01T10:00:00', '2026-06-01T10:00:00.000Z'],
  ['2026-06-01T12:00:00+02:00', '2026-06-01T10:00:00.000Z'],
  ['2026-06-01T05:30:00-04:30', '2026-06-01T10:00:00.000Z'],
  ['2026-06-01 10:00:00.123456z', '2026-06-01T10:00:00.123Z'],
  ['2026-06-01t10:00:00.5Z', '2026-06-01T10:00:00.500Z'],
];

describe('created_at: an RFC 3339 date-time, read the same on every host', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  it.each(refused)('"%s" → 422 at created_at, nothing stored', async (createdAt) => {
    // Given an event whose created_at is not an RFC 3339 date-time
    const body = makeEvent({ created_at: createdAt });
    const before = relay.log.lastSeq();
    // When it is posted
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(body), body });
    // Then it is refused, the details pointing at created_at
    expect(got.status).toBe(422);
    expect(got.body).toEqual({ error: 'invalid_envelope', details: [{ path: 'created_at', message: expect.stringContaining('RFC 3339') }] });
    expect(relay.log.lastSeq()).toBe(before);
  });

  it.each(accepted)('"%s" → 200, the entry holds %s, the body its bytes as sent', async (createdAt, instant) => {
    const body = makeEvent({ created_at: createdAt });
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(body), body });
    expect(got.status).toBe(200);
    const [entry] = relay.log.read(got.body.seq - 1);
    expect(entry?.data).toMatchObject({ created_at: instant, body });
  });
});
