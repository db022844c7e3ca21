import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exceedsDepth } from '../src/json-depth.js';

import { explainEvent, planEntries } from '../src/route/plan-event.js';

import { loadRules, loadRulesFromText } from '../src/rules/load-rules.js';
import { deliveriesOf, entriesOf, routerCheckpoint, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir } from './helpers/relay.js';
import { eventData, eventType, rulesFile } from './helpers/rule-arbitraries.js';
import { DEFAULTS } from '../src/config/defaults.js';

describe('planning, for any event and any rules (fast-check)', () => {
  it('never throws, ends within its bounds, and accounts for every rule: planned, dead with a reason, or skipped with a reason', () => {
    fc.assert(
      fc.property(rulesFile, eventType, eventData, (yaml, type, data) => {
        // Given rules that load (random templates may not parse: that is rules check's job)
        const loaded = loadRulesFromText(yaml, 'rules.yaml', {});
        if (!loaded.ok) return;
        const ev = { seq: 1, received_at: '2026-06-01T10:00:01Z', envelope: { event_id: 'evt_p', event_type: type, created_at: '2026-06-01T10:00:00Z', org_id: 'o', data } };
        // When
        const started = performance.now();
        const verdicts = explainEvent(loaded.rules, ev);
        const { entries, failures } = planEntries(loaded.rules, ev);
        const steps = 1 + loaded.rules.rules.reduce((n, r) => n + r.actions.length, 0);
        // Then each step ran within its bound (twice: explain, then plan)
        expect(performance.now() - started).toBeLessThan(2 * steps * DEFAULTS.rules.evalTimeLimitMs * DEFAULTS.rules.evalTimeAttempts);
        for (const v of verdicts) {
          if (!v.matched) {
            expect(['type', 'when_false', 'when_missing', 'when_error']).toContain(v.reason);
            expect(v.message.length).toBeGreaterThan(0);
            continue;
          }
          for (const a of v.actions) {
            if (a.ok) {
              // what the log will store: writable, not too deep
              expect(exceedsDepth(a.plan.request, DEFAULTS.rules.maxRequestDepth)).toBe(false);
              expect(typeof JSON.stringify(a.plan.request)).toBe('string');
            } else {
              expect(a.reason.code).toMatch(/^[a-z_]+$/);
              expect(a.reason.message.length).toBeGreaterThan(0);
            }
          }
        }
        // and the entries are exactly those plans and their dead letters, each failure counted
        const planned = entries.filter((e) => e.type === 'delivery.planned').length;
        const dead = entries.filter((e) => e.type === 'delivery.dead').length;
        expect(planned).toBe(verdicts.reduce((n, v) => n + (v.matched ? v.actions.length : 0), 0));
        expect(dead + verdicts.filter((v) => !v.matched && v.reason === 'when_error').length).toBe(failures.length);
      }),
      { numRuns: 150 },
    );
  });
});

describe('the relay, for random rules and a stream of random events (fast-check)', () => {
  it('acknowledges promptly, routes every acknowledged event, and each ends planned, dead with a reason, or skipped with a reason', async () => {
    const [yaml] = fc.sample(rulesFile.filter((y) => loadRulesFromText(y, 'r', {}).ok), { numRuns: 1, seed: 4242 });
    const events = fc.sample(fc.tuple(eventType, eventData), { numRuns: 25, seed: 4243 });
    const temp = tempDir();
    const relay = await startRoutingRelay({ dir: temp.dir, rulesPath: writeRules(temp.dir, yaml!) });
    try {
      // When every event is posted, one after another
      const acked: { seq: number; body: string }[] = [];
      let slowest = 0;
      for (const [i, [type, data]] of events.entries()) {
        const body = JSON.stringify({ event_id: `evt_prop_${i}`, event_type: type, created_at: '2026-06-01T10:00:00Z', org_id: 'o', data });
        const started = performance.now();
        const answer = await relay.postSigned(body);
        slowest = Math.max(slowest, performance.now() - started);
        if (answer.status === 200) acked.push({ seq: answer.body.seq as number, body });
      }
      // Then it answered each within the bound of one rule's work, and routed them all
      expect(acked.length).toBeGreaterThan(0);
      expect(slowest).toBeLessThan(DEFAULTS.rules.evalTimeLimitMs * 8);
      await until(() => routerCheckpoint(relay.log) >= acked.at(-1)!.seq, { what: 'the router to pass every event', timeoutMs: 15_000 });
      // the rules as the pipeline thread loaded them: the same file, loaded here
      const loaded = await loadRules(relay.pipeline!.rulesPath, {});
      if (!loaded.ok) throw new Error('the rules do not load');
      const rules = loaded.rules;
      const reasons = new Map(entriesOf(relay.log, 'delivery.dead').map((e) => [e.data.delivery_id, e.data.reason]));
      for (const { seq, body } of acked) {
        const envelope = JSON.parse(body);
        const planned = entriesOf(relay.log, 'delivery.planned').filter((p) => p.data.event_seq === seq);
        const verdicts = explainEvent(rules, { seq, received_at: '', envelope });
        if (planned.length === 0) {
          // skipped: every rule says why
          expect(verdicts.every((v) => !v.matched && v.message.length > 0)).toBe(true);
          continue;
        }
        for (const p of planned) {
          const row = deliveriesOf(relay.log).find((d) => d.delivery_id === p.data.delivery_id)!;
          expect(['pending', 'retrying', 'succeeded', 'dead']).toContain(row.status);
          if ('not_planned' in p.data.request) expect(reasons.get(p.data.delivery_id)).toMatch(/^[a-z_]+: ./);
        }
      }
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    } finally {
      await relay.close();
      temp.cleanup();
    }
  });
});
