import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { SECRET, makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';

const headers = (body: string) => ({ 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) });

/**
 * The envelope's names (ids and types) become keys and columns of the log: PostgreSQL's text
 * cannot hold U+0000 (the whole commit failed: 503 for the events beside it, /readyz down) and
 * turns an unpaired surrogate into U+FFFD (two ids became one: a real event answered as a
 * duplicate of another). Both engines refuse such a name at once, 422 at its path, so the
 * contract is the same on both and the events beside it commit. A body may still hold them.
 */
const names: Array<[string, (bad: string) => string]> = [
  ['event_id', (bad) => makeEvent({ event_id: `evt_${bad}` })],
  ['event_type', (bad) => makeEvent({ event_type: `call.${bad}` })],
  ['org_id', (bad) => makeEvent({ org_id: `org_${bad}` })],
  ['data.call_id', (bad) => makeEvent({}, { call_id: `call_${bad}` })],
  ['data.agent_id', (bad) => makeEvent({}, { agent_id: `agent_${bad}` })],
];
const bads: Array<[string, string]> = [
  ['U+0000', '\u0000'],
  ['a lone low surrogate', '\udc00'],
  ['a lone high surrogate at the end', '\ud800'],
];

describe('names in the envelope: no U+0000, no unpaired surrogate', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  for (const [path, make] of names) {
    it.each(bads)(`${path} holding %s → 422 at ${path}, nothing stored`, async (_what, bad) => {
      const body = make(bad);
      const before = relay.log.lastSeq();
      const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(body), body });
      expect(got.status).toBe(422);
      expect(got.body).toEqual({ error: 'invalid_envelope', details: [{ path, message: expect.stringContaining('U+0000 or an unpaired surrogate') }] });
      expect(relay.log.lastSeq()).toBe(before);
    });
  }

  it.each(names)('%s longer than 512 characters → 422 at its path, nothing stored (512 is kept)', async (path, make) => {
    const before = relay.log.lastSeq();
    const body = make('x'.repeat(600));
    const long = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(body), body });
    expect(long.status).toBe(422);
    expect(long.body).toEqual({ error: 'invalid_envelope', details: [{ path, message: expect.stringContaining('at most 512 characters') }] });
    expect(relay.log.lastSeq()).toBe(before);
  });

  it('a name of exactly 512 characters is stored', async () => {
    const body = makeEvent({ event_id: 'e'.repeat(512) });
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(body), body });
    expect(got.status).toBe(200);
  });

  it('a name with a surrogate pair (an emoji), and a body holding U+0000 and a lone surrogate, are stored as sent', async () => {
    const body = makeEvent({ event_id: `evt_${process.pid}_😀` }, { call_id: 'call_😀', summary: 'a\u0000b \udc00' });
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(body), body });
    expect(got.status).toBe(200);
    const [entry] = relay.log.read(got.body.seq - 1);
    expect(entry!.data).toMatchObject({ event_id: `evt_${process.pid}_😀`, call_id: 'call_😀', body });
  });
});
