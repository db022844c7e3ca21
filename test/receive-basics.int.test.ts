import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { SECRET, makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';

describe('POST /webhooks/husky', () => {
  let relay: TestRelay;
  beforeEach(async () => {
    relay = await startTestRelay();
  });
  afterEach(async () => {
    await relay.stop();
  });

  it('stores a signed sample event with its exact bytes and answers its seq', async () => {
    // Given the sample from the HuskyVoice docs
    const body = readFileSync(new URL('./fixtures/call.completed.json', import.meta.url));
    // When it is posted, signed
    const answer = await relay.postSigned(body);
    // Then it is acknowledged and is in the log byte for byte
    expect(answer).toEqual({ status: 200, body: { ok: true, event_id: 'evt_test123', seq: 1 } });
    const [entry] = relay.log.read(0);
    expect(entry?.type).toBe('event.received');
    expect(entry?.data).toMatchObject({ event_id: 'evt_test123', event_type: 'call.completed', body: body.toString('utf8') });
  });

  it('answers a repeated event_id as a duplicate and stores it once', async () => {
    const body = makeEvent();
    const first = await relay.postSigned(body);
    const again = await relay.postSigned(body);
    expect(first.status).toBe(200);
    expect(again.body).toEqual({ ok: true, event_id: JSON.parse(body).event_id, duplicate: true });
    expect(relay.log.read(0)).toHaveLength(1);
  });
});

describe('keep-alive connections', () => {
  let relay: TestRelay;
  afterEach(async () => {
    await relay.stop();
  });

  // Real time: the idle timeout is Node's own socket timer, which no injected clock reaches.
  it('keeps an idle connection open past Node 5 s default, so a proxy reusing it gets an answer, not a reset', async () => {
    relay = await startTestRelay();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string) =>
      rawRequest(relay.url, { path: '/webhooks/husky', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body, agent });
    try {
      const first = await post(makeEvent());
      expect(first).toMatchObject({ status: 200, reused: false });
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const second = await post(makeEvent());
      expect(second).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  }, 15_000);
});
