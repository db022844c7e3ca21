import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHttp, type FakeHttp } from '../testing/fakes/fake-http.js';
import { signIn } from './helpers/browser.js';
import { deliveriesOf, entriesOf, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/**
 * "Re-drive all dead of SINK" on the console's deliveries page (README "Console"): the CLI's
 * `retry --dead --sink SINK`, by the console, for that sink only; a form without the page's
 * CSRF token changes nothing.
 */
const UI_TOKEN = 'console-token-for-redrive-0123456789';
let crm: FakeHttp;
let other: FakeHttp;
let relay: TestRelay;
let cleanup: () => void;
let cookie: string;

beforeAll(async () => {
  crm = await startFakeHttp();
  other = await startFakeHttp();
  const temp = tempDir();
  cleanup = temp.cleanup;
  const rules = `version: 1
sinks:
  crm: { type: http, url: "${crm.url}" }
  other: { type: http, url: "${other.url}" }
rules:
  - { id: both, on: call.completed, actions: [{ sink: crm }, { sink: other }] }
`;
  relay = await startRoutingRelay({ dir: temp.dir, rulesPath: writeRules(temp.dir, rules), ui: { token: UI_TOKEN } });
  // Given three calls whose deliveries both receivers refuse for good (404: dead at once)
  for (let i = 0; i < 3; i++) {
    crm.failNext({ status: 404 });
    other.failNext({ status: 404 });
  }
  for (let i = 0; i < 3; i++) await postEvent(relay, makeEvent({}, { call_id: `call_dead_${i}` }));
  await until(() => deliveriesOf(relay.log, { status: 'dead' }).length === 6, { what: 'six dead' });
  ({ cookie } = await signIn(relay.url, UI_TOKEN));
}, 30_000);
afterAll(async () => {
  await relay?.stop();
  await crm?.close();
  await other?.close();
  cleanup?.();
});

/** The deliveries page's form that re-drives the dead of `sink`: its action and fields. */
async function redriveForm(sink: string): Promise<{ action: string; fields: URLSearchParams }> {
  const html = await (await fetch(`${relay.url}/ui/deliveries?status=dead`, { headers: { cookie } })).text();
  const form = new RegExp(`<form method="post" action="(/ui/sinks/${sink}/redrive-dead)"[^>]*>(.*?)</form>`).exec(html);
  if (!form) throw new Error(`no re-drive form for ${sink} on the page`);
  const fields = new URLSearchParams([...form[2]!.matchAll(/name="(\w+)" value="([^"]*)"/g)].map((m): [string, string] => [m[1]!, m[2]!.replaceAll("&amp;", "&")]));
  expect(form[2]).toContain(`Re-drive all 3 dead of ${sink}`);
  return { action: form[1]!, fields };
}

const post = (action: string, fields: URLSearchParams) =>
  fetch(`${relay.url}${action}`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString(), redirect: 'manual' });

describe('re-drive all dead of a sink from the console', () => {
  it('without the CSRF token: refused, nothing re-driven', async () => {
    const { action, fields } = await redriveForm('crm');
    fields.delete('_csrf');
    const answer = await post(action, fields);
    expect(answer.status).toBe(403);
    expect(entriesOf(relay.log, 'delivery.retried')).toEqual([]);
  });

  it('a form or an address holding U+0000 is refused 400, nothing re-driven (PostgreSQL refuses it in a parameter: it answered 500)', async () => {
    const { action, fields } = await redriveForm('crm');
    fields.set('reason', 'x\u0000y');
    const answer = await post(action, fields);
    expect(answer.status).toBe(400);
    expect(await answer.text()).toBe('the form holds U+0000');
    expect(entriesOf(relay.log, 'delivery.retried')).toEqual([]);
    for (const path of ['/ui/calls/call_%00', '/ui/events?type=a%00', '/ui/deliveries?sink=a%00', '/ui/deliveries?rule=%00']) {
      const page = await fetch(`${relay.url}${path}`, { headers: { cookie } });
      expect([path, page.status, await page.json()]).toEqual([path, 400, { error: 'bad_request', message: 'the address holds U+0000 (%00)' }]);
    }
  });

  it("re-drives that sink's three dead deliveries, by the console, and the receiver gets them; the other sink's stay dead", async () => {
    const { action, fields } = await redriveForm('crm');
    const before = crm.requests.length;
    const answer = await post(action, fields);
    expect(answer.status).toBe(303);
    await until(() => crm.requests.length === before + 3, { what: 'three re-driven at the receiver' });
    const deadOfCrm = new Set(deliveriesOf(relay.log, { sink: 'crm' }).map((d) => d.delivery_id));
    expect(entriesOf(relay.log, 'delivery.retried').map((e) => e.data).sort((a, b) => a.delivery_id.localeCompare(b.delivery_id))).toEqual(
      [...deadOfCrm].sort((a, b) => a.localeCompare(b)).map((delivery_id) => ({ delivery_id, reason: 're-driven with --dead --sink crm', by: 'console' })),
    );
    await until(() => deliveriesOf(relay.log, { sink: 'crm', status: 'succeeded' }).length === 3, { what: 'crm delivered' });
    expect(deliveriesOf(relay.log, { sink: 'other', status: 'dead' })).toHaveLength(3);
    // and the page it goes back to says so
    const page = await (await fetch(`${relay.url}${answer.headers.get('location')}`, { headers: { cookie } })).text();
    expect(page).toContain('re-driven: 3 dead deliveries of crm');
  });
});

describe('re-drive all dead of a sink the relay does not know', () => {
  it('says there is no such sink, naming the known ones, as retry does; nothing re-driven', async () => {
    // Given the page's form, posted for a sink neither in the rules nor the log (a hand-made or stale address)
    const { fields } = await redriveForm('other');
    const before = entriesOf(relay.log, 'delivery.retried').length;
    const answer = await post('/ui/sinks/crn/redrive-dead', fields);
    expect(answer.status).toBe(303);
    // Then nothing is re-driven and the page it goes back to says why
    expect(entriesOf(relay.log, 'delivery.retried')).toHaveLength(before);
    const page = await (await fetch(`${relay.url}${answer.headers.get('location')}`, { headers: { cookie } })).text();
    expect(page).toContain('retry: no sink &#34;crn&#34; in the rules or the log (did you mean &#34;crm&#34;?); known sinks: crm, other');
    expect(page).not.toContain('re-driven: 0');
  });
});
