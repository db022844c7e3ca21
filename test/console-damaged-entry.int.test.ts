import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signIn } from './helpers/browser.js';
import { damageEntryData, eventsLog } from './helpers/damage.js';
import { deliveriesOf, entriesOf, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';
import { TRACE_RULES } from './helpers/replay-scenario.js';

const UI_TOKEN = 'console-token-for-damage-0123456789';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** serve with the console, on a log of three events (calls c0, c1, c2) whose entry 2 (call c1's event) is not JSON. */
async function relayOnDamagedLog(): Promise<TestRelay> {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const dbPath = join(temp.dir, 'relay.db');
  eventsLog(dbPath, 3);
  damageEntryData(dbPath, 2);
  const relay = await startRoutingRelay({ dir: temp.dir, rulesPath: writeRules(temp.dir, TRACE_RULES), ui: { token: UI_TOKEN } });
  cleanups.push(() => relay.close());
  cleanups.push(() => relay.log.close());
  return relay;
}

describe('console: a damaged entry (its data is not JSON)', () => {
  it("the call page of its call says which entry is damaged and what to do; other calls' pages still show", async () => {
    const relay = await relayOnDamagedLog();
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    // When the damaged call's page is opened
    const damaged = await fetch(`${relay.url}/ui/calls/c1`, { headers: { cookie } });
    // Then it is a 500 that says so on the page, not an empty one
    expect(damaged.status).toBe(500);
    const problem = /<div class="error" role="alert">([^<]*)<\/div>/.exec(await damaged.text())?.[1];
    expect(problem).toMatch(/^call c1 cannot be shown: entry 2 of the log is damaged: its data is not valid JSON.*; run `husky-relay log --verify` to check the whole log, then stop serve and restore the latest backup \(README: Backups\)$/);
    // And the other calls are shown as before
    const sound = await fetch(`${relay.url}/ui/calls/c0`, { headers: { cookie } });
    expect(sound.status).toBe(200);
  }, 30_000);

  it('a page that lists the damaged entry (the events page) answers 500 with the same words', async () => {
    const relay = await relayOnDamagedLog();
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const answer = await fetch(`${relay.url}/ui/events`, { headers: { cookie } });
    expect(answer.status).toBe(500);
    expect(await answer.text()).toMatch(/^entry 2 of the log is damaged: its data is not valid JSON.*restore the latest backup \(README: Backups\)\n$/);
  }, 30_000);

  it('a plan rewritten as JSON of another shape ({}): the call page still shows, with - for what the plan lacks', async () => {
    // Given a log whose three events were routed and delivered, then call c0's plan rewritten as {}
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const dbPath = join(temp.dir, 'relay.db');
    eventsLog(dbPath, 3);
    const rulesPath = writeRules(temp.dir, TRACE_RULES);
    const first = await startRoutingRelay({ dir: temp.dir, rulesPath });
    await until(() => deliveriesOf(first.log, { status: 'succeeded' }).length === 3, { what: 'three deliveries' });
    const plan = entriesOf(first.log, 'delivery.planned').find((e) => e.data.call_id === 'c0')!;
    await first.close();
    first.log.close();
    damageEntryData(dbPath, plan.seq, '{}');
    // When serve starts again and c0's page is opened
    const relay = await startRoutingRelay({ dir: temp.dir, rulesPath, ui: { token: UI_TOKEN } });
    cleanups.push(() => relay.close());
    cleanups.push(() => relay.log.close());
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const page = await fetch(`${relay.url}/ui/calls/c0`, { headers: { cookie } });
    // Then it shows, the plan's moment with - for its rule and sink
    const html = await page.text();
    expect(page.status, html).toBe(200);
    expect(html).toContain('rule -, sink -');
  }, 30_000);
});
