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
