import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { signIn } from './helpers/browser.js';
import { cliEnv, runCli, runOnTerminal } from './helpers/cli.js';
import { deliveriesOf, entriesOf, fixture, postEvent, routerCheckpoint, settle, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

/**
 * An erasure closes the call's open deliveries dead (README "Erasure"); those dead letters have
 * nothing left to send, so nobody may re-drive them: `retry ID` refuses (exit 1), `retry --dead`
 * skips them and says how many, and no alert rule hears of them as of a delivery that failed.
 * Nor may anyone re-drive a dead letter whose call is erased after it died.
 * Through the built CLI, while a relay (serve) runs on the same database, and its console.
 */
const GONE = 'call_gone_1';
const UI_TOKEN = 'console-token-for-erased-0123456789';
let hook: FakeHttp;
let ops: FakeHttp;
let relay: TestRelay;
let cleanup: () => void;
let rulesPath: string;
const cli = (...args: string[]) => runCli(['--db', relay.dbPath, '--rules', rulesPath, ...args], { cwd: relay.dir, env: cliEnv(), timeoutMs: 60_000 });
const ofCall = (callId: string) => hook.requests.filter((r) => (r.body as { data?: { call_id?: string } }).data?.call_id === callId);
const goneId = () => deliveriesOf(relay.log).find((d) => d.call_id === GONE)!.delivery_id;
const alerts = () => deliveriesOf(relay.log).filter((d) => d.rule_id === 'ops-alerts');

beforeAll(async () => {
  hook = await startFakeHttp();
  ops = await startFakeHttp();
  const temp = tempDir();
  cleanup = temp.cleanup;
  rulesPath = writeRules(
    temp.dir,
    `version: 1
sinks:
  hook: { type: http, url: "${hook.url}", retry: { max_attempts: 5, initial_delay: 1h, max_delay: 1h } }
  ops: { type: http, url: "${ops.url}" }
rules:
  - { id: to-hook, on: call.completed, actions: [{ sink: hook }] }
  - { id: ops-alerts, on: delivery.dead, actions: [{ sink: ops }] }
`,
  );
  relay = await startRoutingRelay({ dir: temp.dir, rulesPath, ui: { token: UI_TOKEN } });
  // Given a call whose delivery failed once and waits an hour to be tried again
  hook.failNext({ status: 503 });
  await postEvent(relay, fixture('call.completed', (e) => ((e.event_id = 'evt_gone'), (e.data.call_id = GONE))));
  await until(() => deliveriesOf(relay.log)[0]?.status === 'retrying', { what: 'the delivery to be retrying' });
  // and another call's delivery dead for good (404), which alerts the ops sink
  hook.failNext({ status: 404 });
  await postEvent(relay, fixture('call.completed', (e) => ((e.event_id = 'evt_dead'), (e.data.call_id = 'call_dead_1'))));
  await until(() => deliveriesOf(relay.log, { sink: 'hook', status: 'dead' }).length === 1 && ops.requests.length === 1, { what: 'the dead letter and its alert' });
}, 60_000);
afterAll(async () => {
  await relay?.stop();
  await hook?.close();
  await ops?.close();
  cleanup?.();
});

describe.sequential("dead letters of an erased call (README \"Erasure\")", () => {
  it('erase closes the retrying delivery dead, and no alert is raised for it: nobody failed', async () => {
    const erased = await cli('erase', '--call', GONE, '--reason', 'customer asked');
    expect(erased).toMatchObject({ code: 0, stderr: '' });
    expect(erased.stdout).toMatch(new RegExp(`^erased ${GONE}: \\d+ payloads?, 1 open delivery closed \\(seq \\d+\\)\\n$`));
    const [death] = entriesOf(relay.log, 'delivery.dead').filter((e) => e.data.reason.startsWith('erased'));
    expect(death?.data.reason).toBe("erased: the call's personal data was erased");
    await until(() => routerCheckpoint(relay.log) >= death!.seq, { what: 'the router to read the erasure' });
    await settle();
    // the one alert is the 404's; none about the erasure
    expect(alerts()).toHaveLength(1);
    expect(ops.requests).toHaveLength(1);
    expect(JSON.stringify(ops.requests[0]!.body)).toContain('http_404');
    // and the dead gauge an alert may watch counts the 404 alone: the erased one can never be re-driven, so it would never clear
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics.match(/^husky_relay_deliveries_dead\{.*$/gm)).toEqual(['husky_relay_deliveries_dead{sink="hook"} 1']);
    // and deliveries --event of its op-SEQ does not say a rule on delivery.dead (ops-alerts is one) would alert on it
    const hint = await runOnTerminal(['--db', relay.dbPath, '--rules', rulesPath, 'deliveries', '--event', `op-${death!.seq}`], relay.dir);
    expect(hint.code).toBe(0);
    expect(hint.output).toContain(`it names the operator event at seq ${death!.seq} (delivery.dead), a dead letter an erasure closed: no rule alerts on it`);
    expect(hint.output).not.toContain('one is planned only by a rule');
  }, 60_000);

  it('retry ID of it: exit 1, one line, nothing appended', async () => {
    const id = goneId();
    const before = entriesOf(relay.log, 'delivery.retried').length;
    const retry = await cli('retry', id);
    expect(retry).toMatchObject({ code: 1, stdout: '', stderr: `husky-relay: retry: ${id} was erased with its call; nothing to re-drive\n` });
    expect(entriesOf(relay.log, 'delivery.retried')).toHaveLength(before);
  }, 60_000);

  it('retry --dead re-drives the other dead letter and skips it, saying so; retry --dead --sink the same', async () => {
    const plannedBefore = entriesOf(relay.log, 'delivery.planned').length;
    const retry = await cli('retry', '--dead');
    expect(retry).toMatchObject({ code: 0, stderr: '', stdout: 're-driven: 1 delivery (skipped 1 delivery erased with its call)\n' });
    await until(() => deliveriesOf(relay.log, { sink: 'hook', status: 'succeeded' }).length === 1, { what: 'the 404 one re-driven and delivered' });
    const bySink = await cli('retry', '--dead', '--sink', 'hook');
    expect(bySink).toMatchObject({ code: 0, stderr: '', stdout: 're-driven: 0 deliveries (skipped 1 delivery erased with its call)\n' });
    await settle();
    // nothing of the erased call was re-driven, planned, attempted or sent again
    const gone = deliveriesOf(relay.log).find((d) => d.call_id === GONE)!;
    expect(gone).toMatchObject({ status: 'dead', attempts: 1, dead_reason: "erased: the call's personal data was erased" });
    expect(entriesOf(relay.log, 'delivery.retried').map((e) => e.data.delivery_id)).not.toContain(gone.delivery_id);
    expect(entriesOf(relay.log, 'delivery.attempted').filter((e) => e.data.delivery_id === gone.delivery_id)).toHaveLength(1);
    expect(entriesOf(relay.log, 'delivery.planned')).toHaveLength(plannedBefore);
    expect(ofCall(GONE)).toHaveLength(1);
  }, 60_000);

  it("the console: no Re-drive button on its row; re-driving it is refused, and Re-drive all of the sink skips it, saying so", async () => {
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const get = async (path: string) => (await fetch(`${relay.url}${path}`, { headers: { cookie } })).text();
    const page = await get('/ui/deliveries');
    const row = new RegExp(`<tr data-delivery="${goneId()}">(.*?)</tr>`, 's').exec(page)?.[1] ?? '';
    expect(row).toContain('dead: erased');
    expect(row).not.toContain('Re-drive');
    // the sink's only dead letter is the erasure's: "Needs a person" neither lists it nor offers "Re-drive all 1 dead of hook"
    expect(page).not.toContain('<tr data-sink="hook">');
    expect(page).not.toContain('action="/ui/sinks/hook/redrive-dead"');
    expect(await get(`/ui/calls/${GONE}`)).not.toContain(`/ui/deliveries/${goneId()}/redrive`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const before = entriesOf(relay.log, 'delivery.retried').length;
    const post = async (action: string) => {
      const body = new URLSearchParams({ _csrf: csrf.replaceAll('&amp;', '&'), back: '/ui/deliveries' }).toString();
      const answer = await fetch(`${relay.url}${action}`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
      expect(answer.status).toBe(303);
      return /<div class="flash" role="status">([^<]*)<\/div>/.exec(await get(answer.headers.get('location')!))?.[1];
    };
    expect(await post(`/ui/deliveries/${goneId()}/redrive`)).toBe(`retry: ${goneId()} was erased with its call; nothing to re-drive`);
    expect(await post('/ui/sinks/hook/redrive-dead')).toBe('re-driven: 0 dead deliveries of hook (skipped 1 delivery erased with its call)');
    expect(entriesOf(relay.log, 'delivery.retried')).toHaveLength(before);
  }, 60_000);

  it('with another dead letter: the console offers to re-drive that one only; retry of several ids names each and what became of it, exit 1', async () => {
    // Given another call's delivery dead for good (404) beside the erased one
    hook.failNext({ status: 404 });
    await postEvent(relay, fixture('call.completed', (e) => ((e.event_id = 'evt_dead_2'), (e.data.call_id = 'call_dead_2'))));
    await until(() => deliveriesOf(relay.log, { sink: 'hook', status: 'dead' }).length === 2, { what: 'the second dead letter' });
    const fresh = deliveriesOf(relay.log).find((d) => d.call_id === 'call_dead_2')!.delivery_id;
    // Then "Needs a person" counts it alone for the button, and says the other is the erasure's
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    let row = '';
    await until(
      async () => {
        const page = await (await fetch(`${relay.url}/ui/deliveries`, { headers: { cookie } })).text();
        row = /<tr data-sink="hook">(.*?)<\/tr>/s.exec(page)?.[1] ?? '';
        return row.includes('Re-drive all 1 dead of hook');
      },
      { what: 'the re-drive of the one dead letter offered', timeoutMs: 10_000, describe: () => row },
    );
    expect(row).toContain('1 dead, and 1 of erased calls (nothing to re-drive)');
    // When both are re-driven by id: the one is, the erased one is named with why, exit 1
    const mixed = await cli('retry', goneId(), fresh);
    expect(mixed).toMatchObject({ code: 1, stdout: `re-driven: 1 delivery (${fresh})\n`, stderr: `husky-relay: retry: ${goneId()} was erased with its call; nothing to re-drive\n` });
    await until(() => deliveriesOf(relay.log).find((d) => d.delivery_id === fresh)?.status === 'succeeded', { what: 'the re-driven one delivered' });
    // And when none of them can be: nothing appended, each named
    const before = entriesOf(relay.log, 'delivery.retried').length;
    const none = await cli('retry', goneId(), fresh, 'dlv_nope');
    expect(none).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `husky-relay: retry: no delivery dlv_nope (see \`husky-relay deliveries\`); ${fresh} already succeeded; ${goneId()} was erased with its call; nothing to re-drive\n`,
    });
    expect(entriesOf(relay.log, 'delivery.retried')).toHaveLength(before);
    expect(entriesOf(relay.log, 'delivery.retried').map((e) => e.data.delivery_id)).not.toContain(goneId());
  }, 60_000);

  it('a dead letter whose call is erased after it died: no longer counted nor offered, retry --dead skips it, retry ID names it with why', async () => {
    // Given another call's delivery dead for good (404): counted by the dead gauge
    const LATE = 'call_dead_then_gone';
    hook.failNext({ status: 404 });
    await postEvent(relay, fixture('call.completed', (e) => ((e.event_id = 'evt_dead_then_gone'), (e.data.call_id = LATE))));
    await until(() => deliveriesOf(relay.log).find((d) => d.call_id === LATE)?.status === 'dead', { what: 'the dead letter of the call to erase' });
    const id = deliveriesOf(relay.log).find((d) => d.call_id === LATE)!.delivery_id;
    const deadGauge = async () => (await (await fetch(`${relay.url}/metrics`)).text()).match(/^husky_relay_deliveries_dead\{.*$/gm);
    expect(await deadGauge()).toEqual(['husky_relay_deliveries_dead{sink="hook"} 1']);
    // When its call is erased (nothing open to close)
    const erased = await cli('erase', '--call', LATE);
    expect(erased).toMatchObject({ code: 0, stderr: '' });
    expect(erased.stdout).toContain('0 open deliveries closed');
    const before = entriesOf(relay.log, 'delivery.retried').length;
    // Then the dead gauge counts it no more (an alert on it would never clear)
    expect(await deadGauge()).toBeNull();
    // retry ID refuses it, naming why; retry --dead skips it with the erasure's own dead letter
    expect(await cli('retry', id)).toMatchObject({ code: 1, stdout: '', stderr: `husky-relay: retry: ${id} was erased with its call; nothing to re-drive\n` });
    expect(await cli('retry', '--dead')).toMatchObject({ code: 0, stderr: '', stdout: 're-driven: 0 deliveries (skipped 2 deliveries erased with their calls)\n' });
    // and the console neither offers it (no button on its row or its call's page) nor lists the sink under "Needs a person"
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const get = async (path: string) => (await fetch(`${relay.url}${path}`, { headers: { cookie } })).text();
    let page = '';
    await until(
      async () => !(page = await get('/ui/deliveries')).includes('<tr data-sink="hook">'),
      { what: '"Needs a person" to drop the sink', timeoutMs: 10_000, describe: () => /<tr data-sink="hook">(.*?)<\/tr>/s.exec(page)?.[1] ?? '' },
    );
    const row = new RegExp(`<tr data-delivery="${id}">(.*?)</tr>`, 's').exec(page)?.[1] ?? '';
    expect(row).toContain('dead: http_404');
    expect(row).not.toContain('Re-drive');
    expect(page).not.toContain('action="/ui/sinks/hook/redrive-dead"');
    expect(await get(`/ui/calls/${LATE}`)).not.toContain(`/ui/deliveries/${id}/redrive`);
    // nothing re-driven, nothing sent again
    await settle();
    expect(entriesOf(relay.log, 'delivery.retried')).toHaveLength(before);
    expect(ofCall(LATE)).toHaveLength(1);
  }, 60_000);
});
