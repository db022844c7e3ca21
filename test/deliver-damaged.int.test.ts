import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { closedPortOrigin } from './fakes/closed-port.js';
import { damageEntryData, damagePayload, damageRootPage } from './helpers/damage.js';
import { deliveriesOf, entriesOf, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/**
 * A delivery whose attempt cannot start because its row cannot be read (a damaged page of the
 * projection): README "Faults", "a corrupted page of a table". Nothing is sent, /readyz says
 * why, and the dispatcher tries it again a while later, not at once: at once, the same read
 * failed about 8,000 times a second, with an error line each time and a CPU spinning.
 */

let relay: TestRelay | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  await relay?.close();
  relay?.log.close();
  relay = undefined;
  cleanup?.();
});

describe('an attempt that cannot start because its delivery cannot be read', () => {
  it('is tried again after DEFAULTS.delivery.startRetryMs, not in a loop; /readyz names the damage', async () => {
    // Given three deliveries waiting for their retry (their receiver refused the connection)
    const temp = tempDir();
    cleanup = temp.cleanup;
    const rules = writeRules(temp.dir, `version: 1\nsinks:\n  hook: { type: http, url: "${await closedPortOrigin()}/in", retry: { initial_delay: 1s } }\nrules:\n  - id: all\n    on: "*"\n    actions: [{ sink: hook }]\n`);
    relay = await startRoutingRelay({ dir: temp.dir, rulesPath: rules });
    for (let i = 0; i < 3; i += 1) await postEvent(relay, makeEvent());
    await until(() => deliveriesOf(relay!.log).filter((d) => d.status === 'retrying').length === 3, { what: 'three deliveries retrying' });
    await relay.close();
    relay.log.close();
    // and the index of deliveries by id damaged while the relay was down
    damageRootPage(`${temp.dir}/relay.db`, 'sqlite_autoindex_p_deliveries_1');
    // When the relay starts on it, and the retries come due
    relay = await startRoutingRelay({ dir: temp.dir, rulesPath: rules });
    const failedStarts = () => relay!.lines.filter((l) => l.includes('could not start an attempt')).length;
    await until(() => failedStarts() >= 3, { what: 'the attempts to fail to start', timeoutMs: 10_000 });
    const first = failedStarts();
    await delay(DEFAULTS.delivery.startRetryMs / 2);
    // Then each delivery failed to start once in that time, not thousands of times
    expect(first).toBe(3);
    expect(failedStarts()).toBe(3);
    // and /readyz says what is damaged
    const ready = await fetch(`${relay.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/p_deliveries.*malformed/);
    // and after the wait each is tried again
    await until(() => failedStarts() >= 6, { what: 'the next tries', timeoutMs: DEFAULTS.delivery.startRetryMs * 2 });
  }, 40_000);
});

const PLAN_DAMAGES = [
  { what: 'its data is not JSON', damage: damageEntryData, said: String.raw`its data is not valid JSON \(.+\)` },
  { what: 'its payload does not decrypt', damage: damagePayload, said: 'its payload does not decrypt: it was altered' },
];

describe.each(PLAN_DAMAGES)('a delivery whose plan entry is damaged ($what)', ({ damage, said }) => {
  it('goes dead at once with entry_damaged and the damage as its reason; nothing is sent, its alert is planned, and routing and the other deliveries go on', async () => {
    // Given two deliveries waiting for their retry (their receiver refused the connection), and a rule that alerts on dead letters
    const temp = tempDir();
    cleanup = temp.cleanup;
    const alert = `  - id: dead-alert\n    on: delivery.dead\n    actions: [{ sink: hook }]\n`;
    const rules = writeRules(temp.dir, `version: 1\nsinks:\n  hook: { type: http, url: "${await closedPortOrigin()}/in", retry: { initial_delay: 1s } }\nrules:\n  - id: all\n    on: "*"\n    actions: [{ sink: hook }]\n${alert}`);
    relay = await startRoutingRelay({ dir: temp.dir, rulesPath: rules });
    await postEvent(relay, makeEvent({ event_id: 'evt_damaged' }));
    await postEvent(relay, makeEvent({ event_id: 'evt_sound' }));
    await until(() => deliveriesOf(relay!.log).filter((d) => d.status === 'retrying').length === 2, { what: 'two deliveries retrying' });
    const plan = entriesOf(relay.log, 'delivery.planned').find((e) => e.data.event_id === 'evt_damaged')!;
    await relay.close();
    relay.log.close();
    // and the first one's plan entry damaged on disk while the relay was down
    damage(`${temp.dir}/relay.db`, plan.seq);
    // When the relay starts on it, and the retries come due
    relay = await startRoutingRelay({ dir: temp.dir, rulesPath: rules });
    const row = (event: string) => deliveriesOf(relay!.log).find((d) => d.event_id === event)!;
    await until(() => row('evt_damaged').status === 'dead', { what: 'the damaged plan to go dead', timeoutMs: 10_000 });
    // Then its dead letter says which entry, what is wrong and what to do
    const todo = String.raw`; run \x60husky-relay log --verify\x60 to check the whole log, then stop serve and restore the latest backup \(README: Backups\)`;
    expect(row('evt_damaged').dead_reason).toMatch(new RegExp(`^entry_damaged: entry ${plan.seq} of the log is damaged: ${said}${todo}$`));
    expect(row('evt_damaged').attempts).toBe(2);
    // and the attempt is not put back in a loop; the sound delivery is attempted again, and stays open
    await until(() => row('evt_sound').attempts >= 2, { what: 'the sound delivery to be tried again', timeoutMs: 10_000 });
    expect(row('evt_sound').status).toBe('retrying');
    expect(relay.lines.filter((l) => l.includes('could not start an attempt'))).toEqual([]);
    // and its dead letter raises the alert the rule asks for (the plan's rule and sink unknown: it cannot be read)
    const dead = entriesOf(relay.log, 'delivery.dead').find((e) => e.data.delivery_id === row('evt_damaged').delivery_id)!;
    await until(() => deliveriesOf(relay!.log).some((d) => d.event_id === `op-${dead.seq}`), { what: 'the alert planned', timeoutMs: 10_000 });
    // and the router goes on: an event that arrives after it is planned
    await postEvent(relay, makeEvent({ event_id: 'evt_after' }));
    await until(() => deliveriesOf(relay!.log).some((d) => d.event_id === 'evt_after'), { what: 'the next event planned', timeoutMs: 10_000 });
    expect(relay.lines.filter((l) => l.includes('could not append plans'))).toEqual([]);
  }, 40_000);
});
