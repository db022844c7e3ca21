import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NewEntry } from '../src/log/types.js';
import { canonicalJson, GENESIS, linkHash, verifyChain } from '../src/privacy/chain.js';
import { contactKey, mentionsContact } from '../src/privacy/contact.js';
import { isErased, joinEntry, openPayload, payloadDigest, sealPayload, splitEntry } from '../src/privacy/payload.js';

/** The engine-independent parts of README "Personal data": facts and payloads, the chain, contacts. */
const event: NewEntry = {
  type: 'event.received',
  data: { event_id: 'e1', event_type: 'call.completed', org_id: 'o', created_at: 'c', received_at: 'r', call_id: 'call_1', body: '{"data":{"to_number":"+1 415 555 0123"}}' },
};
const plan: NewEntry = {
  type: 'delivery.planned',
  data: { delivery_id: 'd1', event_id: 'e1', event_seq: 1, event_type: 'call.completed', call_id: 'call_1', rule_id: 'r', action_index: 0, sink: 's', request: { channel: '#sales', text: 'Dana called' }, order_key: null, rules_hash: 'h' },
};

describe('facts and payloads', () => {
  it('an event keeps its ids as facts and its body as payload; a plan keeps its channel as a fact', () => {
    expect(splitEntry(event)).toEqual({ facts: { event_id: 'e1', event_type: 'call.completed', org_id: 'o', created_at: 'c', received_at: 'r', call_id: 'call_1' }, payload: JSON.stringify({ body: event.data.body }), callId: 'call_1' });
    const split = splitEntry(plan);
    expect(split.facts['request']).toEqual({ channel: '#sales' });
    expect(split.payload).toBe(JSON.stringify({ request: { channel: '#sales', text: 'Dana called' } }));
    expect(splitEntry({ type: 'delivery.dead', data: { delivery_id: 'd1', reason: 'x' } }).payload).toBeNull();
  });

  it('joins back to the same data, key order included, or to [erased]', () => {
    for (const entry of [event, plan]) {
      const s = splitEntry(entry);
      expect(JSON.stringify(joinEntry(entry.type, s.facts, s.payload, true))).toBe(JSON.stringify(entry.data));
    }
    const gone = joinEntry('event.received', splitEntry(event).facts, null, true);
    expect(gone['body']).toBe('[erased]');
    expect(isErased({ ...event, seq: 1, at: 'a', data: gone } as never)).toBe(true);
    expect(joinEntry('delivery.planned', splitEntry(plan).facts, null, true)['request']).toEqual({ channel: '#sales', erased: true });
  });

  it('seals under a data key bound to the seq; another seq or key does not open it', () => {
    const key = Buffer.alloc(32, 1);
    const sealed = sealPayload(key, 7, 'hello');
    expect(openPayload(key, 7, sealed)).toBe('hello');
    expect(() => openPayload(key, 8, sealed)).toThrow();
    expect(() => openPayload(Buffer.alloc(32, 2), 7, sealed)).toThrow();
    // the digest is keyed: the same payload under another key gives another digest
    expect(payloadDigest(key, 'hello')).not.toBe(payloadDigest(Buffer.alloc(32, 2), 'hello'));
  });
});

describe('the hash chain', () => {
  it('hashes facts as canonical JSON, whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }] })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
    const link = { seq: 1, type: 't', at: 'a', digest: null };
    expect(linkHash(GENESIS, { ...link, facts: { x: 1, y: 2 } })).toBe(linkHash(GENESIS, { ...link, facts: { y: 2, x: 1 } }));
  });

  it('keeps the hashes every log already holds (known answers, computed by the first chained build)', () => {
    const facts = { event_id: 'evt_1', call_id: 'call_é', n: [3, { z: null, a: 'x"y' }], ok: true, skip: undefined };
    expect(canonicalJson(facts)).toBe('{"call_id":"call_é","event_id":"evt_1","n":[3,{"a":"x\\"y","z":null}],"ok":true}');
    expect(linkHash(GENESIS, { seq: 42, type: 'event.received', at: '2026-06-01T10:00:00.000Z', facts, digest: 'ab'.repeat(32) })).toBe(
      '9ecb8c836326750375804f55050d0b449631f71d31e1f5a6b151d6f3bbf7036f',
    );
    expect(linkHash('f'.repeat(64), { seq: 43, type: 'delivery.dead', at: '2026-06-01T10:00:01.000Z', facts: {}, digest: null })).toBe(
      '2059a15586710017e24906f3245b2be1deb368d3ec5083c0a019e572c3bf6b9f',
    );
  });

  it('canonical JSON reads back as the same value, and is the text of the first chained build (keys sorted with sort())', () => {
    // the first build's canonicalJson, kept here as the oracle: every log's hashes were made by it
    const reference = (value: unknown): string => {
      if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
      if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`).join(',')}}`;
    };
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(text).toBe(reference(value));
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('verifies a chain and names the first entry that does not match, or the first one missing', () => {
    const links = [1, 2, 3].map((seq) => ({ seq, type: 't', at: 'a', facts: { seq }, digest: seq === 2 ? 'd' : null, hash: '' }));
    let prev = GENESIS;
    for (const l of links) l.hash = prev = linkHash(prev, l);
    expect(verifyChain(links)).toEqual({ ok: true, entries: 3, head: prev });
    expect(verifyChain(links.map((l) => (l.seq === 2 ? { ...l, digest: 'other' } : l)))).toMatchObject({ ok: false, seq: 2 });
    expect(verifyChain([links[0]!, links[2]!])).toMatchObject({ ok: false, seq: 3, reason: 'entries 2..2 are missing' });
  });
});

describe('contacts', () => {
  it('an email in any case, a phone by its digits, anywhere in the data', () => {
    expect(contactKey('Dana@Example.com')).toBe('dana@example.com');
    expect(contactKey('+1 (415) 555-0123')).toBe('14155550123');
    expect(contactKey('call_1')).toBeNull();
    expect(mentionsContact(JSON.parse(event.data.body as string), '14155550123')).toBe(true);
    expect(mentionsContact({ data: { contact: { email: 'DANA@example.com' } } }, 'dana@example.com')).toBe(true);
    expect(mentionsContact({ data: { summary: 'Dana called' } }, 'dana@example.com')).toBe(false);
  });
});
