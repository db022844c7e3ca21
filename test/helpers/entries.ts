import type { NewEntry } from '../../src/log/types.js';

let counter = 0;

/**
 * An `event.received` entry as the receiver logs it, numbered `evt_<prefix>_<n>` and `call_<n>`
 * unless `overrides` say otherwise.
 */
export function receivedEntry(overrides: { event_id?: string; body?: string; call_id?: string; prefix?: string } = {}): NewEntry {
  counter += 1;
  const event_id = overrides.event_id ?? `evt_${overrides.prefix ?? 'log'}_${counter}`;
  return {
    type: 'event.received',
    data: {
      event_id,
      event_type: 'call.completed',
      org_id: 'org_abc_123',
      created_at: '2026-06-01T10:00:00Z',
      received_at: '2026-06-01T10:00:01Z',
      call_id: overrides.call_id ?? `call_${counter}`,
      body: overrides.body ?? `{"event_id":"${event_id}"}`,
    },
  };
}

/** `n` small `call.completed` events (`evt_I` of `call_<I mod 500>`, body `{}`), for a log big enough that its rebuild takes a while. */
export function smallEvents(n: number): NewEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'event.received',
    data: { event_id: `evt_${i}`, event_type: 'call.completed', org_id: 'org', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:00Z', call_id: `call_${i % 500}`, body: '{}' },
  }));
}
