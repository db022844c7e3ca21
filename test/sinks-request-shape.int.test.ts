import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpSink } from '../src/sinks/http/sender.js';
import { createHubspotSink } from '../src/sinks/hubspot/sender.js';
import { createSlackSink } from '../src/sinks/slack/sender.js';
import type { HttpSinkConfig } from '../src/sinks/http/schema.js';
import type { AttemptContext, AttemptOutcome } from '../src/sinks/types.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { useFakeSaas } from './helpers/fake-saas.js';
import { deliveriesOf, entriesOf, fixture, postEvent, settle, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * Issue 11 item 15: a request the HTTP client refuses before sending can never go out. It is
 * `permanent invalid_request` naming what and where (dead at once), never transient until
 * dead, and its message never quotes the value (it may be a credential).
 */

let receiver: FakeHttp;
beforeAll(async () => {
  receiver = await startFakeHttp();
});
afterAll(() => receiver.close());
beforeEach(() => receiver.reset());

const ctx: AttemptContext = { deliveryId: 'dlv_shape', attempt: 1, keyState: null };

function refused(outcome: AttemptOutcome) {
  if (outcome.outcome !== 'failed') throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`);
  expect(outcome.error).toMatchObject({ kind: 'permanent', code: 'invalid_request' });
  return outcome.error.message;
}

describe('through the relay: a templated header with a line break or a non-Latin-1 character', () => {
  let relay: TestRelay;
  let cleanup: () => void;
  afterEach(async () => {
    await relay.close();
    cleanup();
  });

  it('is dead at once with the header named, and nothing reaches the receiver', async () => {
    // Given a rule that puts the caller's name in a header
    const temp = tempDir();
    cleanup = temp.cleanup;
    const rules = `version: 1
sinks:
  hook: { type: http, url: "${receiver.url}" }
rules:
  - id: caller-header
    on: call.completed
    actions:
      - sink: hook
        headers:
          X-Caller: "{{ data.caller_name }}"
`;
    relay = await startRoutingRelay({ dir: temp.dir, rulesPath: writeRules(temp.dir, rules) });
    // When events arrive whose caller name has CR/LF, a check mark, or is plain Latin-1
    const names = { evt_crlf: 'Dana\r\nX-Injected: 1', evt_check: 'Dana ✓', evt_latin1: 'Zoë Renée' };
    for (const [id, name] of Object.entries(names)) {
      await postEvent(relay, fixture('call.completed', (e) => Object.assign(e, { event_id: id }) && (e.data.caller_name = name)));
    }
    await until(() => deliveriesOf(relay.log).filter((d) => d.status === 'dead' || d.status === 'succeeded').length === 3, { what: 'three outcomes' });
    await settle();
    // Then the two that cannot be sent are dead after one attempt, saying which header and why
    const byEvent = Object.fromEntries(deliveriesOf(relay.log).map((d) => [d.event_id, d]));
    expect(byEvent['evt_crlf']).toMatchObject({ status: 'dead', attempts: 1, last_error: { kind: 'permanent', code: 'invalid_request' } });
    expect(byEvent['evt_crlf']?.last_error?.['message']).toBe(`the rule's headers: header "X-Caller" has a line break (CR or LF) in its value at character 5: a header value is one line`);
    expect(byEvent['evt_check']).toMatchObject({ status: 'dead', attempts: 1 });
    expect(byEvent['evt_check']?.last_error?.['message']).toMatch(/header "X-Caller" has U\+2713, which is not Latin-1, in its value at character 6/);
    // (in any order: the deliveries have no order key, so they run concurrently, README "Order.")
    const reasons = entriesOf(relay.log, 'delivery.dead').map((e) => e.data.reason);
    expect(reasons).toHaveLength(2);
    expect(reasons).toEqual(expect.arrayContaining([
      expect.stringMatching(/^invalid_request: .*"X-Caller".*line break/),
      expect.stringMatching(/^invalid_request: .*"X-Caller".*U\+2713/),
    ]));
    // and only the Latin-1 one went out, as Latin-1 bytes
    expect(receiver.requests.map((r) => r.headers['x-caller'])).toEqual([Buffer.from('Zoë Renée', 'latin1').toString('latin1')]);
  });
});

describe('HTTP sink: every shape fetch refuses is refused first, permanent, saying what and where', () => {
  const send = (request: Record<string, unknown>, config: Partial<HttpSinkConfig> = {}) =>
    createHttpSink('audit', { type: 'http', url: receiver.url, ...config }).send({ method: 'POST', headers: {}, body: {}, ...request }, ctx);

  it.each([
    ['a header name with a space', { headers: { 'X Caller': 'a' } }, /the rule's headers: "X Caller" is not a valid HTTP header name/],
    ['a NUL in a value', { headers: { 'X-A': 'a\0b' } }, /header "X-A" has the control character U\+0000 in its value at character 2/],
    ['a DEL in a value', { headers: { 'X-A': 'a\x7f' } }, /header "X-A" has the control character U\+007F/],
    ['an emoji in a value', { headers: { 'X-A': 'ok 😀' } }, /header "X-A" has U\+1F600, which is not Latin-1, in its value at character 4/],
    ['content-length', { headers: { 'Content-Length': '3' } }, /header "Content-Length" is set by the HTTP client itself/],
    ['transfer-encoding', { headers: { 'Transfer-Encoding': 'chunked' } }, /header "Transfer-Encoding" is set by the HTTP client itself/],
    ['expect', { headers: { Expect: '100-continue' } }, /header "Expect" is set by the HTTP client itself/],
    ['connection: upgrade', { headers: { Connection: 'upgrade' } }, /header "Connection" is set by the HTTP client itself/],
    ['method CONNECT', { method: 'connect' }, /^method CONNECT cannot be sent: fetch refuses CONNECT, TRACE and TRACK$/],
    ['method TRACE', { method: 'TRACE' }, /^method TRACE cannot be sent/],
    ['a method with a space', { method: 'PO ST' }, /^method "PO ST" is not a valid HTTP method$/],
  ])('%s', async (_what, request, message) => {
    expect(refused(await send(request))).toMatch(message);
    expect(receiver.requests).toEqual([]);
  });

  it.each([
    ['a url with a password', { url: 'http://user:hunter2-s3cr3t@127.0.0.1:9/hook' }, /^sink "audit" url: has a user name or password in it/],
    ['a url that is not http', { url: 'ftp://127.0.0.1/hook' }, /^sink "audit" url: must start with http:\/\/ or https:\/\/, not ftp:\/\//],
    ['a sink header from a file with a line break', { headers: { Authorization: 'Bearer abcdefgh12345678\nnext' } }, /^sink "audit" headers: header "Authorization" has a line break/],
  ])('the sink itself: %s', async (_what, config, message) => {
    const text = refused(await send({}, config));
    expect(text).toMatch(message);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('abcdefgh12345678');
    expect(receiver.requests).toEqual([]);
  });

  it('a header value that is fine (tab, Latin-1, spaces around) is sent', async () => {
    expect(await send({ headers: { 'X-A': ' caf\u00e9\tok ' } })).toEqual({ outcome: 'succeeded', result: { status: 200 } });
  });
});

describe('SDK sinks: a token that cannot go in a header is refused before any request', () => {
  const fakes = useFakeSaas();

  it.each([
    ['a pasted ellipsis', 'xoxb-1234…5678', /^sink "slack" token: header "Authorization" has U\+2026, which is not Latin-1, in its value at character 10/],
    ['a line break inside', 'xoxb-1234\r\n5678', /^sink "slack" token: header "Authorization" has a line break/],
  ])('Slack: %s', async (_what, token, message) => {
    const sink = createSlackSink('slack', { type: 'slack', token }, { slackApiUrl: fakes.slack.url });
    expect(refused(await sink.send({ channel: '#a', text: 'x' }, ctx))).toMatch(message);
    expect(fakes.slack.requests).toEqual([]);
  });

  it('HubSpot: a token with a non-Latin-1 character', async () => {
    const sink = createHubspotSink('hubspot', { type: 'hubspot', access_token: 'pat-na1-“quoted”' }, { hubspotBaseUrl: fakes.hubspot.url });
    const text = refused(await sink.send({ create: 'call', contact: { id: '1' }, properties: {} }, ctx));
    expect(text).toMatch(/^sink "hubspot" access_token: header "Authorization" has U\+201C, which is not Latin-1, in its value at character 9/);
    expect(fakes.hubspot.requests).toEqual([]);
  });
});
