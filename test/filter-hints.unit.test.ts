import { describe, expect, it } from 'vitest';
import { filterHints, hintEmptyResult, type KnownNames } from '../src/commands/filter-hints.js';

const KNOWN: KnownNames = { sinks: ['crm', 'hubspot', 'slack'], rules: ['call-thread', 'crm'] };

describe('the hint of a filter that names what the relay does not know (README "Command line")', () => {
  it('names the known sinks, and the closest one', () => {
    expect(filterHints({ sink: 'slak' }, KNOWN)).toEqual(['no sink "slak" in the rules or the log (did you mean "slack"?); known sinks: crm, hubspot, slack']);
    expect(filterHints({ sink: 'teams' }, KNOWN)).toEqual(['no sink "teams" in the rules or the log; known sinks: crm, hubspot, slack']);
  });

  it('names the known rules, and says none when there are none', () => {
    expect(filterHints({ rule: 'call-thead' }, KNOWN)).toEqual([
      'no rule "call-thead" in the rules or the log (did you mean "call-thread"?); known rules: call-thread, crm',
    ]);
    expect(filterHints({ rule: 'x' }, { sinks: [], rules: [] })).toEqual(['no rule "x" in the rules or the log; known rules: none']);
  });

  it('names the statuses for one that does not exist', () => {
    expect(filterHints({ status: 'daed' }, KNOWN)).toEqual(['no status "daed" (did you mean "dead"?); known statuses: pending, retrying, succeeded, dead']);
    expect(filterHints({ status: 'failed' }, KNOWN)).toEqual(['no status "failed"; known statuses: pending, retrying, succeeded, dead']);
  });

  it('a call or event not in the log is said so; one that is, or was not looked up, is not', () => {
    expect(filterHints({ call: 'c9', event: 'e9' }, { ...KNOWN, callExists: false, eventExists: false })).toEqual([
      'no call "c9" in the log',
      'no event "e9" in the log',
    ]);
    expect(filterHints({ call: 'c1', event: 'e1' }, { ...KNOWN, callExists: true, eventExists: true })).toEqual([]);
    expect(filterHints({ call: 'c1' }, KNOWN)).toEqual([]);
  });

  it('once retention removed the oldest entries, a call or event not in the log is said to be possibly among them', () => {
    const truncated = { ...KNOWN, callExists: false, eventExists: false, operatorEventType: null, bounds: { start: 4, end: 9, callsRemoved: true } };
    expect(filterHints({ call: 'c1', event: 'e1' }, truncated)).toEqual([
      'no call "c1" in the log (the log starts at entry 4: retention removed the calls before it)',
      'no event "e1" in the log (the log starts at entry 4: retention removed the events before it)',
    ]);
    // an alert's event id names an entry: one before the log's start is said to be removed, with its alerts
    expect(filterHints({ event: 'op-2' }, truncated)).toEqual(['no event "op-2" in the log: entry 2 was removed by retention with its alerts (the log starts at entry 4)']);
    expect(filterHints({ event: 'op-5' }, truncated)).toEqual([
      'no event "op-5" in the log: entry 5 is not an operator event (delivery.dead, sink.*, pending.*), so no alert has that id',
    ]);
    // a log that starts at 1 lost nothing
    expect(filterHints({ event: 'e1' }, { ...truncated, bounds: { start: 1, end: 9, callsRemoved: false } })).toEqual(['no event "e1" in the log']);
  });

  it('an operator event id (op-SEQ, as an alert delivery shows it) is named for what it is, not as missing', () => {
    expect(filterHints({ event: 'op-5' }, { ...KNOWN, eventExists: false, operatorEventType: 'delivery.dead' })).toEqual([
      'no call event "op-5": it names the operator event at seq 5 (delivery.dead), whose alerts `deliveries --event op-5` lists (log --json shows the entry)',
    ]);
  });

  it('deliveries --event op-SEQ that lists nothing: the hint does not send the user to the command just run (QA)', () => {
    const known = { ...KNOWN, eventExists: false, operatorEventType: 'delivery.dead' };
    expect(filterHints({ event: 'op-6', listsDeliveries: true }, known)).toEqual([
      'no call event "op-6": it names the operator event at seq 6 (delivery.dead); no alert of it is listed: one is planned only by a rule whose on: matches delivery.dead (log --json shows the entry)',
    ]);
  });

  it('op-SEQ of a dead letter an erasure closed, or of one raised by an alert: the hint says no rule alerts on it, not that a matching rule would', () => {
    const erased = { ...KNOWN, eventExists: false, operatorEventType: 'delivery.dead', operatorEventUnrouted: 'erasure' as const };
    const unrouted = 'no call event "op-6": it names the operator event at seq 6 (delivery.dead), a dead letter an erasure closed: no rule alerts on it (an erasure is asked for, no delivery failed) (log --json shows the entry)';
    expect(filterHints({ event: 'op-6', listsDeliveries: true }, erased)).toEqual([unrouted]);
    expect(filterHints({ event: 'op-6' }, erased)).toEqual([unrouted]);
    const ofAlert = { ...erased, operatorEventUnrouted: 'alert' as const };
    expect(filterHints({ event: 'op-6', listsDeliveries: true }, ofAlert)).toEqual([
      'no call event "op-6": it names the operator event at seq 6 (delivery.dead), raised by an alert: no rule alerts on it (no alert about an alert) (log --json shows the entry)',
    ]);
  });

  it("reads whether the router routes the op-SEQ entry as the router does (routablesOf): an erasure's dead letter, an alert's, another's", async () => {
    // Given a log whose entry 5 is an erasure's dead letter, 6 a dead letter of an alert's delivery, 7 one of a call's delivery
    const entries = [
      { seq: 5, type: 'delivery.dead', data: { delivery_id: 'd_gone', reason: "erased: the call's personal data was erased" } },
      { seq: 6, type: 'delivery.dead', data: { delivery_id: 'd_alert', reason: 'http_404: HTTP 404' } },
      { seq: 7, type: 'delivery.dead', data: { delivery_id: 'd_call', reason: 'http_404: HTTP 404' } },
    ];
    const origin = (id: string, from_operator: boolean) => [id, { delivery_id: id, rule_id: 'r', sink: 'hook', event_id: 'e', event_type: 't', call_id: null, from_operator }];
    const origins = new Map([origin('d_gone', false), origin('d_alert', true), origin('d_call', false)] as [string, unknown][]);
    const store = {
      projections: { hasEvent: async () => false },
      log: {
        read: async (after: number, options: { limit?: number }) => entries.filter((e) => e.seq > after).slice(0, options.limit),
        lastSeq: async () => 7,
        deliveryOrigins: async (ids: string[]) => new Map(ids.map((id) => [id, origins.get(id)])),
      },
    };
    const hint = async (event: string) => {
      const written: string[] = [];
      await hintEmptyResult({ event, listsDeliveries: true }, store as never, {} as never, { isTTY: true, write: (s: string) => written.push(s) });
      return written.join('');
    };
    expect(await hint('op-5')).toContain('(delivery.dead), a dead letter an erasure closed: no rule alerts on it');
    expect(await hint('op-6')).toContain('(delivery.dead), raised by an alert: no rule alerts on it');
    expect(await hint('op-7')).toContain('(delivery.dead); no alert of it is listed: one is planned only by a rule whose on: matches delivery.dead');
  });

  it('op-SEQ of an entry that is not an operator event (a delivery.retried, one past the log\'s end) is not said to name one', async () => {
    // Given a log that starts at 1 (nothing removed by retention), whose entry 22 is a delivery.retried and which ends at 35
    const entries = [{ seq: 1, type: 'rules.loaded' }, { seq: 22, type: 'delivery.retried' }, { seq: 31, type: 'sink.paused', data: { sink: 'hook', reason: 'invalid_auth: no', code: 'invalid_auth', delivery_id: 'd1' } }];
    const store = {
      projections: { hasEvent: async () => false },
      log: {
        read: async (after: number, options: { limit?: number }) => entries.filter((e) => e.seq > after).slice(0, options.limit),
        lastSeq: async () => 35,
        deliveryOrigins: async () => new Map(),
      },
    };
    const hints = async (event: string) => {
      const written: string[] = [];
      await hintEmptyResult({ event }, store as never, {} as never, { isTTY: true, write: (s: string) => written.push(s) });
      return written;
    };
    // Then only the operator entry is named as one
    expect(await hints('op-31')).toEqual([
      'husky-relay: no call event "op-31": it names the operator event at seq 31 (sink.paused), whose alerts `deliveries --event op-31` lists (log --json shows the entry)\n',
    ]);
    const none = (id: string, seq: number) => `husky-relay: no event "${id}" in the log: entry ${seq} is not an operator event (delivery.dead, sink.*, pending.*), so no alert has that id\n`;
    expect(await hints('op-22')).toEqual([none('op-22', 22)]);
    // one past the log's end says where the log ends (QA: it said "not an operator event")
    expect(await hints('op-999')).toEqual(['husky-relay: no event "op-999" in the log: the log ends at seq 35\n']);
    // and what the router never writes (op-0, a leading zero) is an event id like any other
    expect(await hints('op-0')).toEqual(['husky-relay: no event "op-0" in the log\n']);
    expect(await hints('op-031')).toEqual(['husky-relay: no event "op-031" in the log\n']);
  });

  it('a log --type pattern that matches no type of entry names the types, and the closest one', () => {
    const types =
      'known types: event.received, delivery.planned, delivery.attempted, delivery.dead, delivery.retried, rules.loaded, sink.paused, sink.resumed, pending.stale, pending.cleared, call.erased, log.truncated';
    expect(filterHints({ types: ['sink.pausd'] }, KNOWN)).toEqual([`no entry type "sink.pausd" (did you mean "sink.paused"?); ${types}`]);
    expect(filterHints({ types: ['Delivery.*'] }, KNOWN)).toEqual([`no entry type "Delivery.*" (did you mean "delivery.*"?); ${types}`]);
    expect(filterHints({ types: ['alert.*'] }, KNOWN)).toEqual([`no entry type "alert.*"; ${types}`]);
    // a call's event type is what people try first: it is said where those are
    expect(filterHints({ types: ['call.completed'] }, KNOWN)).toEqual([
      `no entry type "call.completed" (a call event is an event.received entry: try --call CALL_ID, or log --json); ${types}`,
    ]);
    // types and globs that match one are known, whatever the log holds now
    expect(filterHints({ types: ['sink.paused', 'delivery.*', 'pending.?????', '*', 'sink.[pr]*'] }, KNOWN)).toEqual([]);
    expect(filterHints({ types: ['delivery.*', 'x'] }, KNOWN)).toHaveLength(1);
  });

  it('says nothing when every name is known, and one line per unknown filter otherwise', () => {
    expect(filterHints({ status: 'dead', sink: 'crm', rule: 'crm' }, KNOWN)).toEqual([]);
    expect(filterHints({ status: 'dead', sink: 'nope', rule: 'nope' }, KNOWN)).toHaveLength(2);
  });

  it('shows a name with control characters as escapes, on one line', () => {
    const [line] = filterHints({ sink: 'a\n\u001b[2Jb' }, KNOWN);
    expect(line).toBe('no sink "a\\n\\u001b[2Jb" in the rules or the log; known sinks: crm, hubspot, slack');
  });

  it('is written only to a terminal: piped, stderr stays empty and nothing else is read', async () => {
    // Given a stderr that is not a terminal, and a store that must not be asked
    const written: string[] = [];
    const store = new Proxy({}, { get: () => { throw new Error('the store was read'); } });
    // When
    await hintEmptyResult({ sink: 'nope', call: 'c9' }, store as never, {} as never, { isTTY: false, write: (s: string) => written.push(s) });
    // Then
    expect(written).toEqual([]);
  });
});
