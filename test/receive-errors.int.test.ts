import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { makeEvent, SECRET, startTestRelay, type TestRelay } from './helpers/relay.js';

const JSON_TYPE = { 'content-type': 'application/json' };
const signed = (body: string | Buffer, secret = SECRET) => ({ ...JSON_TYPE, 'x-husky-signature': sign(body, secret) });

/** A valid envelope with one field replaced (or removed, with `undefined`). */
function envelopeWith(field: string, value: unknown): string {
  const envelope = JSON.parse(makeEvent()) as Record<string, any>;
  const [head, tail] = field.split('.') as [string, string | undefined];
  const holder = tail === undefined ? envelope : envelope[head];
  const key = tail ?? head;
  if (value === undefined) delete holder[key];
  else holder[key] = value;
  return JSON.stringify(envelope);
}

interface Row {
  name: string;
  body: () => string | Buffer;
  headers: (body: string | Buffer) => Record<string, string>;
  status: number;
  answer: Record<string, unknown>;
}

const notJson = 'this is not JSON { at all';
const tooBig = 'x'.repeat(2048);

// README "HTTP", in the order the checks are made: each row also proves the checks below it
// are not reached (an unsigned, non-JSON, oversized body is still a 413).
const refusals: Row[] = [
  { name: 'a body over the limit', body: () => makeEvent({}, { pad: tooBig }), headers: signed, status: 413, answer: { error: 'payload_too_large' } },
  { name: 'a body over the limit, unsigned, text/plain, not JSON', body: () => tooBig, headers: () => ({ 'content-type': 'text/plain' }), status: 413, answer: { error: 'payload_too_large' } },
  { name: 'a body over the limit with no content type at all', body: () => tooBig, headers: () => ({}), status: 413, answer: { error: 'payload_too_large' } },
  { name: 'a signed event sent as text/plain', body: () => makeEvent(), headers: (b) => ({ ...signed(b), 'content-type': 'text/plain' }), status: 415, answer: { error: 'unsupported_media_type' } },
  { name: 'a signed event with no content type', body: () => makeEvent(), headers: (b) => ({ 'x-husky-signature': sign(b, SECRET) }), status: 415, answer: { error: 'unsupported_media_type' } },
  { name: 'an unsigned non-JSON body as text/plain', body: () => notJson, headers: () => ({ 'content-type': 'text/plain' }), status: 415, answer: { error: 'unsupported_media_type' } },
  { name: 'a form post', body: () => 'a=1&b=2', headers: () => ({ 'content-type': 'application/x-www-form-urlencoded' }), status: 415, answer: { error: 'unsupported_media_type' } },
  { name: 'no X-Husky-Signature', body: () => makeEvent(), headers: () => JSON_TYPE, status: 401, answer: { error: 'missing_signature' } },
  { name: 'no X-Husky-Signature on a body that is not JSON', body: () => notJson, headers: () => JSON_TYPE, status: 401, answer: { error: 'missing_signature' } },
  { name: 'an empty X-Husky-Signature', body: () => makeEvent(), headers: () => ({ ...JSON_TYPE, 'x-husky-signature': '' }), status: 401, answer: { error: 'missing_signature' } },
  { name: 'the signature of other bytes', body: () => makeEvent(), headers: () => signed(makeEvent()), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'a signature made with another secret', body: () => makeEvent(), headers: (b) => signed(b, 'some-other-secret'), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'a signature over the body with a trailing newline', body: () => makeEvent(), headers: (b) => signed(`${b.toString()}\n`), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'a bad signature on a body that is not JSON (signature before parse)', body: () => notJson, headers: () => signed('something else'), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'a truncated signature', body: () => makeEvent(), headers: (b) => ({ ...JSON_TYPE, 'x-husky-signature': sign(b, SECRET).slice(0, 63) }), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'a signature that is not hex', body: () => makeEvent(), headers: () => ({ ...JSON_TYPE, 'x-husky-signature': 'z'.repeat(64) }), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'a base64 signature', body: () => makeEvent(), headers: (b) => ({ ...JSON_TYPE, 'x-husky-signature': Buffer.from(sign(b, SECRET), 'hex').toString('base64') }), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'a header with 10 KB of hex', body: () => makeEvent(), headers: () => ({ ...JSON_TYPE, 'x-husky-signature': 'ab'.repeat(5120) }), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'the right signature repeated twice', body: () => makeEvent(), headers: (b) => ({ ...JSON_TYPE, 'x-husky-signature': sign(b, SECRET).repeat(2) }), status: 401, answer: { error: 'invalid_signature' } },
  { name: 'a signed body that is not JSON', body: () => notJson, headers: signed, status: 400, answer: { error: 'invalid_json' } },
  { name: 'a signed empty body', body: () => '', headers: signed, status: 400, answer: { error: 'invalid_json' } },
  { name: 'a signed whitespace-only body', body: () => ' \n\t ', headers: signed, status: 400, answer: { error: 'invalid_json' } },
  { name: 'a signed truncated envelope', body: () => makeEvent().slice(0, -1), headers: signed, status: 400, answer: { error: 'invalid_json' } },
  {
    name: 'signed bytes that are not UTF-8',
    body: () => Buffer.concat([Buffer.from(makeEvent().slice(0, -2)), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]),
    headers: signed,
    status: 400,
    answer: { error: 'invalid_json' },
  },
];

// 422: the JSON is fine, the envelope is not. `path` is where the problem is.
const envelopeProblems: Array<{ name: string; body: () => string; path: string }> = [
  { name: 'null', body: () => 'null', path: '(root)' },
  { name: 'an array', body: () => JSON.stringify([JSON.parse(makeEvent())]), path: '(root)' },
  { name: 'a JSON number', body: () => '42', path: '(root)' },
  { name: 'a JSON string', body: () => '"call.completed"', path: '(root)' },
  { name: 'event_id a number', body: () => envelopeWith('event_id', 123), path: 'event_id' },
  { name: 'event_id empty', body: () => envelopeWith('event_id', ''), path: 'event_id' },
  { name: 'event_type missing', body: () => envelopeWith('event_type', undefined), path: 'event_type' },
  { name: 'created_at not a date', body: () => envelopeWith('created_at', 'yesterday-ish'), path: 'created_at' },
  { name: 'created_at a number', body: () => envelopeWith('created_at', 1780000000), path: 'created_at' },
  { name: 'org_id empty', body: () => envelopeWith('org_id', ''), path: 'org_id' },
  { name: 'data missing', body: () => envelopeWith('data', undefined), path: 'data' },
  { name: 'data an array', body: () => envelopeWith('data', []), path: 'data' },
  { name: 'data.call_id a number', body: () => envelopeWith('data.call_id', 987654321), path: 'data.call_id' },
  { name: 'data.agent_id null', body: () => envelopeWith('data.agent_id', null), path: 'data.agent_id' },
  { name: 'data.status missing', body: () => envelopeWith('data.status', undefined), path: 'data.status' },
];

describe('POST /webhooks/husky refuses, in the order of README "HTTP"', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ maxBodyBytes: 1024 });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it.each(refusals)('$name → $status', async ({ body, headers, status, answer }) => {
    // Given a request HuskyVoice would never send
    const bytes = body();
    // When it is posted
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(bytes), body: bytes });
    // Then the answer is the one README "HTTP" names, as JSON, and nothing is stored
    expect({ status: got.status, body: got.body }).toEqual({ status, body: answer });
    expect(got.headers['content-type']).toMatch(/^application\/json/);
    expect(relay.log.read(0)).toEqual([]);
  });

  it('answers 413 to an oversized body sent chunked, without a Content-Length', async () => {
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: { 'content-type': 'text/plain' }, body: tooBig, chunked: true });
    expect({ status: got.status, body: got.body }).toEqual({ status: 413, body: { error: 'payload_too_large' } });
    expect(relay.log.read(0)).toEqual([]);
  });

  it.each(envelopeProblems)('an envelope with $name → 422 naming "$path"', async ({ body, path }) => {
    // Given a signed body that is JSON but not a HuskyVoice envelope
    const bytes = body();
    // When it is posted
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: signed(bytes), body: bytes });
    // Then it is refused as an invalid envelope, and the details say which field
    expect(got.status).toBe(422);
    expect(got.body).toEqual({ error: 'invalid_envelope', details: expect.any(Array) });
    expect(got.body.details).toContainEqual({ path, message: expect.any(String) });
    expect(relay.log.read(0)).toEqual([]);
  });

  it('names every wrong field of an envelope at once', async () => {
    const body = JSON.stringify({ event_id: 1, event_type: 'call.completed', created_at: 'soon', org_id: 'org', data: { call_id: 2 } });
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: signed(body), body });
    expect(got.status).toBe(422);
    const paths = (got.body.details as Array<{ path: string }>).map((d) => d.path).sort();
    expect(paths).toEqual(['created_at', 'data.agent_id', 'data.call_id', 'data.status', 'event_id']);
    expect(relay.log.read(0)).toEqual([]);
  });
});

describe('POST /webhooks/husky accepts', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ maxBodyBytes: 1024, secrets: () => ['old-secret', 'new-secret'] });
  });
  afterAll(async () => {
    await relay.stop();
  });

  const accepted: Array<{ name: string; headers: (body: string) => Record<string, string> }> = [
    { name: 'lower-case hex (what HuskyVoice sends)', headers: (b) => signed(b, 'new-secret') },
    { name: 'upper-case hex', headers: (b) => ({ ...JSON_TYPE, 'x-husky-signature': sign(b, 'new-secret').toUpperCase() }) },
    { name: 'a sha256= prefix', headers: (b) => ({ ...JSON_TYPE, 'x-husky-signature': `sha256=${sign(b, 'new-secret')}` }) },
    { name: 'the secret being rotated out', headers: (b) => signed(b, 'old-secret') },
    { name: 'application/json; charset=utf-8', headers: (b) => ({ ...signed(b, 'new-secret'), 'content-type': 'application/json; charset=utf-8' }) },
    { name: 'a body exactly at the limit', headers: (b) => signed(b, 'new-secret') },
  ];

  it.each(accepted)('a signature in $name', async ({ name, headers }) => {
    // Given an event signed one of the accepted ways
    let body = makeEvent({}, { pad: '' });
    if (name.startsWith('a body exactly')) {
      body = body.replace('"pad":""', `"pad":"${'p'.repeat(1024 - Buffer.byteLength(body))}"`);
      expect(Buffer.byteLength(body)).toBe(1024);
    }
    const before = relay.log.lastSeq();
    // When it is posted
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: headers(body), body });
    // Then it is stored, once, with its exact bytes
    expect({ status: got.status, body: got.body }).toEqual({
      status: 200,
      body: { ok: true, event_id: JSON.parse(body).event_id, seq: before + 1 },
    });
    const entries = relay.log.read(before);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.data).toMatchObject({ event_id: JSON.parse(body).event_id, body });
  });

  it('accepts and stores an event type it does not know (forward compatible)', async () => {
    const body = makeEvent({ event_type: 'call.transferred' }, { transferred_to: 'agent_beta' });
    const before = relay.log.lastSeq();
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: signed(body, 'new-secret'), body });
    expect(got.status).toBe(200);
    expect(relay.log.read(before, { types: ['event.received'] })[0]?.data).toMatchObject({ event_type: 'call.transferred', body });
  });
});

describe('POST /webhooks/husky with pathological JSON', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('does not crash on an object nested 10,000 deep inside data', async () => {
    // Given a signed envelope whose data holds a 10,000-deep object
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const body = makeEvent().replace('"status":"completed"', `"status":"completed","deep":${deep}`);
    // When it is posted
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: signed(body), body });
    // Then the relay answers without a server error, stores only what it acknowledged, and keeps running
    expect(got.status).toBeLessThan(500);
    expect(relay.log.read(0)).toHaveLength(got.status === 200 ? 1 : 0);
    if (got.status === 200) expect(relay.log.read(0)[0]?.data).toMatchObject({ body });
    const health = await rawRequest(relay.url, { method: 'GET', path: '/healthz' });
    expect(health.status).toBe(200);
  });

  it('does not crash on an array nested 10,000 deep as the whole body', async () => {
    const body = '['.repeat(10_000) + ']'.repeat(10_000);
    const got = await rawRequest(relay.url, { path: '/webhooks/husky', headers: signed(body), body });
    expect(got.status).toBe(422);
    expect(relay.log.read(0).filter((e) => e.type === 'event.received' && e.data.body === body)).toEqual([]);
  });
});

describe('the other routes', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('GET /healthz answers 200 {"ok":true}', async () => {
    const got = await rawRequest(relay.url, { method: 'GET', path: '/healthz' });
    expect({ status: got.status, body: got.body }).toEqual({ status: 200, body: { ok: true } });
  });

  it('GET /readyz answers 200 while the log is writable', async () => {
    const got = await rawRequest(relay.url, { method: 'GET', path: '/readyz' });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ ok: true });
  });

  it('an unknown route answers 404 in JSON', async () => {
    const got = await rawRequest(relay.url, { method: 'GET', path: '/webhooks/hus' });
    expect({ status: got.status, body: got.body }).toEqual({ status: 404, body: { error: 'not_found' } });
    expect(got.headers['content-type']).toMatch(/^application\/json/);
    const post = await rawRequest(relay.url, { path: '/webhook/husky', headers: JSON_TYPE, body: makeEvent() });
    expect(post.status).toBe(404);
    expect(relay.log.read(0)).toEqual([]);
  });
});
