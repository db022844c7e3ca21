import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHubspotSink } from '../src/sinks/hubspot/sender.js';
import type { HubspotRequest } from '../src/sinks/hubspot/schema.js';
import type { AttemptContext, AttemptOutcome, Sink } from '../src/sinks/types.js';
import { closedPortOrigin } from './fakes/closed-port.js';
import { startFakeHubspot, type FakeHubspot } from './fakes/fake-hubspot.js';

const TOKEN = 'pat-na1-secret-access-token';
const NOW = Date.parse('2026-01-01T00:00:00Z');

let hubspot: FakeHubspot;
let sink: Sink;

// generous by default: a first SDK request on a busy CI machine can take a few hundred ms
function hubspotSink(url: string, timeout_ms = 5000, token = TOKEN): Sink {
  return createHubspotSink('hubspot', { type: 'hubspot', access_token: token, timeout_ms }, { hubspotBaseUrl: url, now: () => NOW });
}

function ctx(over: Partial<AttemptContext> = {}): AttemptContext {
  return { deliveryId: 'dlv_1', attempt: 1, keyState: null, ...over };
}

function call(over: Partial<HubspotRequest> = {}): Record<string, unknown> {
  return {
    create: 'call',
    contact: { email: 'ada@example.com', phone: '+15550001' },
    if_no_contact: 'fail',
    properties: { hs_call_title: 'Call with agent_7', hs_call_body: 'Interested', hs_timestamp: '2026-01-01T00:00:00Z' },
    ...over,
  };
}

function success(outcome: AttemptOutcome): Record<string, unknown> {
  if (outcome.outcome !== 'succeeded') throw new Error(`expected success, got ${JSON.stringify(outcome)}`);
  return outcome.result ?? {};
}

function failure(outcome: AttemptOutcome) {
  if (outcome.outcome !== 'failed') throw new Error(`expected failure, got ${JSON.stringify(outcome)}`);
  expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  return outcome;
}

const paths = () => hubspot.requests.map((r) => `${r.method} ${r.path}`);

beforeAll(async () => {
  hubspot = await startFakeHubspot({ token: TOKEN });
  sink = hubspotSink(hubspot.url);
});
afterAll(() => hubspot.close());
beforeEach(() => hubspot.reset());

describe('HubSpot sink: finding the contact', () => {
  it('uses contact.id directly, without a search', async () => {
    const result = success(await sink.send(call({ contact: { id: '77', email: 'ada@example.com' } }), ctx()));
    expect(paths()).toEqual(['POST /crm/v3/objects/calls']);
    expect(result).toMatchObject({ object_type: 'call', contact_id: '77' });
  });

  it('finds the contact by email and associates the call with type 194', async () => {
    // Given
    const contactId = hubspot.seedContact({ email: 'Ada@Example.com' });
    // When
    const result = success(await sink.send(call(), ctx()));
    // Then
    expect(paths()).toEqual(['POST /crm/v3/objects/contacts/search', 'POST /crm/v3/objects/calls']);
    expect(hubspot.requests[0]?.body).toMatchObject({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'ada@example.com' }] }] });
    expect(hubspot.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const created = hubspot.objects.calls.get(String(result.object_id));
    expect(created?.properties).toMatchObject({ hs_call_title: 'Call with agent_7', hs_call_body: 'Interested' });
    expect(hubspot.associations).toEqual([
      { fromType: 'calls', fromId: result.object_id, toId: contactId, associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 },
    ]);
    expect(result).toEqual({ object_type: 'call', object_id: created?.id, contact_id: contactId });
  });

  it('falls back to the phone (phone or mobilephone) when the email matches no one', async () => {
    const contactId = hubspot.seedContact({ mobilephone: '+15550001' });
    const result = success(await sink.send(call(), ctx()));
    expect(paths()).toEqual(['POST /crm/v3/objects/contacts/search', 'POST /crm/v3/objects/contacts/search', 'POST /crm/v3/objects/calls']);
    expect(result.contact_id).toBe(contactId);
  });

  it('treats blank rendered fields as absent', async () => {
    const contactId = hubspot.seedContact({ phone: '+15550001' });
    const result = success(await sink.send(call({ contact: { id: ' ', email: '', phone: '+15550001' } }), ctx()));
    expect(hubspot.requests).toHaveLength(2);
    expect(result.contact_id).toBe(contactId);
  });

  it('if_no_contact: fail → permanent no_contact naming what was searched, nothing created', async () => {
    const out = failure(await sink.send(call(), ctx()));
    expect(out.error).toMatchObject({ kind: 'permanent', code: 'no_contact' });
    expect(out.error.message).toContain('email ada@example.com or phone +15550001');
    expect(hubspot.objects.calls.size).toBe(0);
  });

  it('no id, email or phone at all → no_contact without any request, even with create', async () => {
    const out = failure(await sink.send(call({ if_no_contact: 'create', contact: { email: '', phone: ' ' } }), ctx()));
    expect(out.error).toMatchObject({ kind: 'permanent', code: 'no_contact', message: 'HubSpot: no contact id, email or phone in the request' });
    expect(hubspot.requests).toHaveLength(0);
  });

  it('if_no_contact: skip → succeeds with the reason, nothing created', async () => {
    const result = success(await sink.send(call({ if_no_contact: 'skip', contact: { email: 'x@example.com' } }), ctx()));
    expect(result).toEqual({ skipped: 'no contact for email x@example.com' });
    expect(hubspot.objects.calls.size).toBe(0);
  });

  it('if_no_contact: create → creates the contact with email and phone, then the note (type 202)', async () => {
    const result = success(await sink.send(call({ create: 'note', if_no_contact: 'create', properties: { hs_note_body: 'hi' } }), ctx()));
    const contact = hubspot.objects.contacts.get(String(result.contact_id));
    expect(contact?.properties).toMatchObject({ email: 'ada@example.com', phone: '+15550001' });
    expect(result.object_type).toBe('note');
    expect(hubspot.objects.notes.get(String(result.object_id))?.properties.hs_note_body).toBe('hi');
    expect(hubspot.associations[0]).toMatchObject({ fromType: 'notes', toId: result.contact_id, associationTypeId: 202 });
  });

  it('a contact-create conflict (409 "Existing ID") uses the existing contact', async () => {
    const existing = hubspot.seedContact({ email: 'ada@example.com' });
    hubspot.failNext({ status: 200, body: { total: 0, results: [] } }, { path: '/contacts/search', times: 2 });
    const result = success(await sink.send(call({ if_no_contact: 'create' }), ctx()));
    expect(result.contact_id).toBe(existing);
    expect(hubspot.objects.contacts.size).toBe(1);
  });
});

describe('HubSpot sink: upsert', () => {
  it('with an upsert_key and keyState, updates the object created first (PATCH)', async () => {
    // Given
    const contactId = hubspot.seedContact({ email: 'ada@example.com' });
    const first = success(await sink.send(call({ upsert_key: 'call_1' }), ctx()));
    // When
    const second = success(
      await sink.send(call({ upsert_key: 'call_1', properties: { hs_call_status: 'COMPLETED' } }), ctx({ keyState: first })),
    );
    // Then
    expect(second).toEqual({ object_type: 'call', object_id: first.object_id, contact_id: contactId });
    expect(hubspot.objects.calls.size).toBe(1);
    expect(hubspot.objects.calls.get(String(first.object_id))?.properties).toMatchObject({ hs_call_status: 'COMPLETED', hs_call_title: 'Call with agent_7' });
    expect(paths().at(-1)).toBe(`PATCH /crm/v3/objects/calls/${String(first.object_id)}`);
  });

  it('without an upsert_key, keyState is ignored and a new object is created', async () => {
    hubspot.seedContact({ email: 'ada@example.com' });
    const result = success(await sink.send(call(), ctx({ keyState: { object_type: 'call', object_id: '1' } })));
    expect(result.object_id).not.toBe('1');
  });

  it('an update of an object that is gone (404) creates it afresh, and says so (`restarted`) for the key to follow', async () => {
    // Given the object the key points at was deleted in HubSpot
    const contactId = hubspot.seedContact({ email: 'ada@example.com' });
    // When the upsert comes
    const result = success(await sink.send(call({ upsert_key: 'k' }), ctx({ keyState: { object_type: 'call', object_id: '999' } })));
    // Then the update's 404 is followed by a fresh create on the contact
    expect(paths()).toEqual(['PATCH /crm/v3/objects/calls/999', 'POST /crm/v3/objects/contacts/search', 'POST /crm/v3/objects/calls']);
    expect(result).toEqual({ object_type: 'call', object_id: expect.any(String), contact_id: contactId, restarted: 'object_not_found' });
    expect(hubspot.objects.calls.get(result['object_id'] as string)?.properties).toMatchObject({ hs_call_title: 'Call with agent_7' });
  });
});

describe('HubSpot sink: each failure is one attempt, classified', () => {
  const send = () => sink.send(call({ contact: { id: '77' } }), ctx());

  it('a wrong token (401) → permanent unauthorized, token in no message', async () => {
    const wrong = hubspotSink(hubspot.url, 1000, 'pat-na1-wrong-token-999');
    const out = failure(await wrong.send(call(), ctx()));
    expect(out.error).toMatchObject({ kind: 'permanent', code: 'unauthorized', status: 401 });
    expect(JSON.stringify(out)).not.toContain('pat-na1-wrong-token-999');
  });

  it('409 on create → permanent conflict', async () => {
    hubspot.failNext({ status: 409 }, { path: '/objects/calls' });
    expect(failure(await send()).error).toMatchObject({ kind: 'permanent', code: 'conflict', status: 409 });
  });

  it('429 with Retry-After → rate_limited, one request (no SDK retry)', async () => {
    hubspot.failNext({ status: 429, retryAfter: 3 });
    const out = failure(await send());
    expect(out.error).toMatchObject({ kind: 'rate_limited', code: 'http_429' });
    expect(out.retry_after_ms).toBe(3000);
    expect(hubspot.requests).toHaveLength(1);
  });

  it('429 without Retry-After → rate_limited without a delay', async () => {
    hubspot.failNext({ status: 429 });
    const out = failure(await send());
    expect(out.error.kind).toBe('rate_limited');
    expect(out.retry_after_ms).toBeUndefined();
  });

  it.each([500, 503])('%i → transient, one request (no SDK retry)', async (status) => {
    hubspot.failNext({ status });
    expect(failure(await send()).error).toMatchObject({ kind: 'transient', code: `http_${status}` });
    expect(hubspot.requests).toHaveLength(1);
  });

  it('a request that never answers → timeout within the configured timeout', async () => {
    const short = hubspotSink(hubspot.url, 300);
    hubspot.failNext({ hang: true });
    const started = performance.now();
    expect(failure(await short.send(call({ contact: { id: '77' } }), ctx())).error).toMatchObject({ kind: 'transient', code: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2_000);
    // The SDK has no timeout of its own: the request must really be torn down, not left running.
    await vi.waitFor(() => expect(hubspot.requests[0]?.abandoned).toBe(true));
  });

  it('a closed socket → transient econnreset', async () => {
    hubspot.failNext({ close: true });
    expect(failure(await send()).error).toMatchObject({ kind: 'transient', code: 'econnreset' });
  });

  it('connection refused → transient econnrefused', async () => {
    const refused = hubspotSink(await closedPortOrigin());
    expect(failure(await refused.send(call({ contact: { id: '1' } }), ctx())).error).toMatchObject({ kind: 'transient', code: 'econnrefused' });
  });

  it('a shutdown signal aborts the attempt as transient', async () => {
    hubspot.failNext({ hang: true });
    const controller = new AbortController();
    const pending = hubspotSink(hubspot.url, 10_000).send(call({ contact: { id: '1' } }), ctx({ signal: controller.signal }));
    controller.abort();
    expect(failure(await pending).error).toMatchObject({ kind: 'transient', code: 'aborted' });
  });
});
