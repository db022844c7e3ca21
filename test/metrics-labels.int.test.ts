import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_EVENT_TYPES } from '../src/receive/envelope.js';
import { rawRequest } from './helpers/http.js';
import { makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';

/** The `event_type` label of every series of husky_relay_events_received_total, with its value. */
async function receivedSeries(relay: TestRelay): Promise<Array<{ eventType: string; outcome: string; value: number }>> {
  const text = (await rawRequest(relay.url, { method: 'GET', path: '/metrics' })).text;
  return [...text.matchAll(/^husky_relay_events_received_total\{event_type="([^"]*)",outcome="([^"]*)"\} (\d+)$/gm)].map((m) => ({
    eventType: m[1]!,
    outcome: m[2]!,
    value: Number(m[3]),
  }));
}

describe('/metrics keeps a bounded label set (issue 11, item 18)', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('event types HuskyVoice does not document all count as "other": no series per type sent', async () => {
    // Given 200 events of 200 distinct types nobody documented, and one of each known type
    for (let i = 0; i < 200; i += 1) expect((await relay.postSigned(makeEvent({ event_type: `call.made_up_${i}` }))).status).toBe(200);
    for (const type of KNOWN_EVENT_TYPES) expect((await relay.postSigned(makeEvent({ event_type: type }))).status).toBe(200);
    // and a request refused before any envelope was read
    expect((await relay.post(makeEvent())).status).toBe(401);
    // When /metrics is scraped
    const series = await receivedSeries(relay);
    // Then the label set is the five known types, "other", and "unknown" (no envelope), nothing else
    expect(new Set(series.map((s) => s.eventType))).toEqual(new Set([...KNOWN_EVENT_TYPES, 'other', 'unknown']));
    expect(series).toHaveLength(KNOWN_EVENT_TYPES.length + 2);
    expect(series).toContainEqual({ eventType: 'other', outcome: 'accepted', value: 200 });
    expect(series).toContainEqual({ eventType: 'unknown', outcome: 'missing_signature', value: 1 });
    for (const type of KNOWN_EVENT_TYPES) expect(series).toContainEqual({ eventType: type, outcome: 'accepted', value: 1 });
  });
});
