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

  it('a repeated event_id with different bytes is a duplicate: the first body stays, and one warning says so (SPEC §4)', async () => {
    // Given an event stored, then the same event_id again with another summary, then the first bytes again
    const first = makeEvent({}, { summary: 'first' });
    const { event_id: id } = JSON.parse(first) as { event_id: string };
    const changed = JSON.stringify({ ...JSON.parse(first), data: { ...JSON.parse(first).data, summary: 'second' } });
    expect(changed).not.toBe(first);
    expect(await relay.postSigned(first)).toEqual({ status: 200, body: { ok: true, event_id: id, seq: 1 } });
    const warnings = () => relay.lines.map((line) => JSON.parse(line) as { level: unknown; msg: string; event_id?: string }).filter((l) => /different bytes/.test(l.msg));
    // When the changed bytes come: a 200 duplicate, the log keeps the first body, one warning names the id
    expect(await relay.postSigned(changed)).toEqual({ status: 200, body: { ok: true, event_id: id, duplicate: true } });
    expect(relay.log.read(0).map((e) => e.data)).toEqual([expect.objectContaining({ event_id: id, body: first })]);
    expect(warnings()).toEqual([expect.objectContaining({ level: 40, event_id: id, msg: 'duplicate event_id with different bytes: the first one stays in the log' })]);
    // And the same bytes as the first again: a duplicate, and no further warning
    expect(await relay.postSigned(first)).toEqual({ status: 200, body: { ok: true, event_id: id, duplicate: true } });
    expect(warnings()).toHaveLength(1);
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
