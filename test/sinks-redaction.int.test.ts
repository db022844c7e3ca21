import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { statusReport } from '../src/project/queries.js';
import { createHttpSink } from '../src/sinks/http/sender.js';
import { createHubspotSink } from '../src/sinks/hubspot/sender.js';
import { redactorFor } from '../src/sinks/redact.js';
import { createSlackSink } from '../src/sinks/slack/sender.js';
import type { AttemptOutcome } from '../src/sinks/types.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { useFakeSaas } from './helpers/fake-saas.js';
import { leak } from './helpers/leak.js';
import { deliveriesOf, fixture, ManualClock, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';
import { DEFAULTS } from '../src/config/defaults.js';

/**
 * Issue 11 item 6: a sink's answer or an SDK error that quotes a secret never puts it, or a
 * part of it that matters (`DEFAULTS.errors.minSecretFragment` characters or more), into `last_error`, the
 * log's entries or the relay's log lines, for every sink and in every form an echo takes.
 */

const TOKEN = 'SUPERSECRET-7f3a9c1e5b2d4a6f8e0c';
const API_KEY = 'k3y-9d8c7b6a5f4e3d2c';
const SIGNING = 'whsec_c2lnbmluZy1rZXktZm9yLXJlZGFjdGlvbi10ZXN0cw==';

function failure(outcome: AttemptOutcome) {
  if (outcome.outcome !== 'failed') throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

const echoing: FakeHttp[] = [];
afterAll(async () => {
  for (const r of echoing) await r.close();
});

/** A receiver whose error page says `prefix` and then echoes the request's headers. */
async function echoReceiver(status: number, prefix: string): Promise<FakeHttp> {
  const receiver = await startFakeHttp({
    answer: (req) => ({ status, body: `${prefix}request headers: ${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}` }),
  });
  echoing.push(receiver);
  return receiver;
}

describe('redacting comes before cutting', () => {
  it('a token the receiver echoes across the 200-character cut leaves no part of it (the field report: "Bearer SUPERSE")', async () => {
    // Given a receiver whose echo puts "Bearer " just before the 200th character of its body
    const receiver = await echoReceiver(400, '');
    const probe = createHttpSink('audit', { type: 'http', url: receiver.url, headers: { authorization: 'Bearer x' } });
    await probe.send({ method: 'POST', headers: {}, body: {} }, { deliveryId: 'dlv_probe', attempt: 1, keyState: null });
    const offset = receiver.requests[0]!.headers;
    const before = `request headers: ${Object.entries(offset).map(([k, v]) => `${k}: ${v}`).join('\n')}`.indexOf('Bearer x');
    const cutAt = await echoReceiver(400, 'p'.repeat(200 - before - 'Bearer SUPERSE'.length));
    const sink = createHttpSink('audit', { type: 'http', url: cutAt.url, headers: { Authorization: `Bearer ${TOKEN}` } });
    // When an attempt fails with that answer
    const error = failure(await sink.send({ method: 'POST', headers: {}, body: {} }, { deliveryId: 'dlv_probe', attempt: 1, keyState: null }));
    // Then the message keeps the answer's words but no part of the token
    expect(error).toMatchObject({ kind: 'permanent', code: 'http_400' });
    expect(error.message).toContain('[redacted]');
    expect(leak(error.message, TOKEN)).toBeNull();
    expect(error.message).not.toContain('SUPERSE');
  });

  it('property: whatever the offset and the form of the echo, no run of a secret survives an excerpt', () => {
    const secretArb = fc.stringMatching(/^[A-Za-z0-9_\-+/=.]{12,64}$/);
    const formArb = fc.constantFrom<(s: string) => string>(
      (s) => s,
      (s) => encodeURIComponent(s),
      (s) => encodeURIComponent(s).toLowerCase(),
      (s) => JSON.stringify(s).slice(1, -1).replaceAll('/', '\\/'),
      (s) => Buffer.from(s).toString('base64'),
      (s) => Buffer.from(s).toString('base64url'),
      (s) => s.toUpperCase(),
    );
    fc.assert(
      fc.property(secretArb, formArb, fc.string({ maxLength: 400 }), fc.string({ maxLength: 400 }), fc.nat(40), (secret, form, before, after, cutInside) => {
        // a receiver may also have cut the secret itself, anywhere
        const quoted = form(secret).slice(0, Math.max(DEFAULTS.errors.minSecretFragment, form(secret).length - cutInside));
        const out = redactorFor([`Bearer ${secret}`]).excerpt(`${before}${quoted}${after}`);
        expect(leak(out, form(secret))).toBeNull();
        expect(out.length).toBeLessThanOrEqual(200 + '[redacted]…'.length);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps what is not secret: text around the mask, and short common words', () => {
    const redactor = redactorFor([`Bearer ${TOKEN}`, API_KEY]);
    expect(redactor.redact(`denied for Bearer ${TOKEN} (key ${encodeURIComponent(API_KEY)})`)).toBe('denied for Bearer [redacted] (key [redacted])');
  });
});

describe('every sink', () => {
  const fakes = useFakeSaas();

  it('Slack: an error code that quotes the token (a proxy, a misbehaving gateway) is masked in code and message', async () => {
    const token = 'xoxb-1234567890-abcdefghijklmnop';
    fakes.slack.failNext({ slackError: `invalid_auth:${token}` });
    const sink = createSlackSink('slack', { type: 'slack', token }, { slackApiUrl: fakes.slack.url });
    const error = failure(await sink.send({ channel: '#a', text: 'x' }, { deliveryId: 'd', attempt: 1, keyState: null }));
    expect(leak(JSON.stringify(error), token)).toBeNull();
    expect(error.code).toBe('invalid_auth:[redacted]');
  });

  it('HubSpot: an error message quoting the token whole, and cut short by HubSpot itself, leaves no part of it', async () => {
    const token = 'pat-na1-11112222-3333-4444-5555-666677778888';
    const message = `token ${token.slice(0, 21)}… (truncated) is not valid for this portal; ${'m'.repeat(150)} token ${token}`;
    fakes.hubspot.failNext({ status: 400, body: { status: 'error', message, category: 'VALIDATION_ERROR' } });
    const sink = createHubspotSink('hubspot', { type: 'hubspot', access_token: token }, { hubspotBaseUrl: fakes.hubspot.url });
    const error = failure(await sink.send({ create: 'call', contact: { id: '1' }, properties: {} }, { deliveryId: 'd', attempt: 1, keyState: null }));
    expect(error).toMatchObject({ kind: 'permanent', code: 'http_400' });
    expect(leak(JSON.stringify(error), token)).toBeNull();
  });
});

describe('through the relay: last_error, entries and log lines', () => {
  let relay: TestRelay | undefined;
  let cleanup: () => void;
  afterEach(async () => {
    await relay?.close();
    cleanup();
  });

  it('an http sink whose receiver echoes its headers, URL-encoded query and all, leaks none of its secrets anywhere', async () => {
    // Given a receiver that first answers 503 quoting the URL-encoded query and part of the
    // token, then 400 echoing every request header
    const receiver = await echoReceiver(400, 'bad request; ');
    receiver.failNext({ status: 503, body: `upstream busy for /hook?api_key=${encodeURIComponent(API_KEY)} (Authorization: Bearer ${TOKEN.slice(0, 12)}…)` });
    const clock = new ManualClock();
    const temp = tempDir();
    cleanup = temp.cleanup;
    const rules = `version: 1
sinks:
  audit:
    type: http
    url: ${receiver.url}?api_key=\${AUDIT_KEY}
    secret: \${AUDIT_SECRET}
    retry: { initial_delay: 1s }
    headers:
      Authorization: "Bearer \${AUDIT_TOKEN}"
      X-Api-Key: \${AUDIT_KEY}
rules:
  - id: audit-all
    on: call.completed
    actions:
      - sink: audit
`;
    relay = await startRoutingRelay({
      dir: temp.dir,
      rulesPath: writeRules(temp.dir, rules),
      env: { AUDIT_KEY: API_KEY, AUDIT_SECRET: SIGNING, AUDIT_TOKEN: TOKEN },
      clock,
    });
    // When a delivery fails on the receiver's answers
    await postEvent(relay, fixture('call.completed'));
    await until(() => deliveriesOf(relay!.log).some((d) => d.status === 'dead'), {
      what: 'the delivery to go dead on the 400',
      onPoll: () => clock.advance(500),
    });
    // Then what the operator sees says what happened, and holds no part of a secret
    const [row] = deliveriesOf(relay.log);
    expect(row?.last_error).toMatchObject({ kind: 'permanent', code: 'http_400' });
    const places = {
      last_error: JSON.stringify(row?.last_error),
      status: JSON.stringify(statusReport(relay.log.db, null)),
      entries: JSON.stringify(relay.log.read(0).filter((e) => e.type !== 'event.received')),
      lines: relay.lines.join('\n'),
    };
    for (const [place, text] of Object.entries(places)) {
      for (const secret of [TOKEN, API_KEY, SIGNING]) expect({ place, leaked: leak(text, secret) }).toEqual({ place, leaked: null });
    }
    expect(relay.log.read(0).flatMap((e) => (e.type === 'delivery.attempted' ? [e.data.error?.message] : []))).toEqual([
      expect.stringMatching(/^HTTP 503: upstream busy for \/hook\?api_key=\[redacted\] \(Authorization: Bearer \[redacted\]…\)$/),
      expect.stringMatching(/^HTTP 400: bad request; request headers: .*authorization: Bearer \[redacted\]/s),
    ]);
  });
});
