import { readFileSync, writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callText } from '../src/commands/call.js';
import { CSP } from '../src/console/index.js';
import { launchBrowser, screenshot, signInStatus } from './helpers/browser.js';
import { startGatedReceiver, type GatedReceiver } from './helpers/gated-receiver.js';
import { startFakeHubspot, type FakeHubspot } from '../testing/fakes/fake-hubspot.js';
import { useFakeSlack } from './helpers/fake-saas.js';
import { deliveriesOf, entriesOf, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/**
 * The web console (README "Console") in a real browser: Debian's Chromium driven by
 * playwright-core against a relay with the fake Slack, the fake HubSpot and an HTTP receiver. One browser
 * and one page for the file; each test goes on from where the one before left it.
 */

const RULES = `version: 1
sinks:
  crm: { type: http, url: "\${CRM_URL}" }
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
  hubspot: { type: hubspot, access_token: "\${HUBSPOT_ACCESS_TOKEN}", portal_id: 4711 }
rules:
  - { id: to-slack, on: call.completed, actions: [{ sink: slack, channel: "#sales", text: "{{ data.summary }}" }] }
  - { id: to-crm, on: call.completed, actions: [{ sink: crm, body: { call: "{{ data.call_id }}" } }] }
  - { id: to-hubspot, on: call.completed, actions: [{ sink: hubspot, create: note, contact: { email: "{{ data.contact_email }}" }, if_no_contact: skip }] }
`;

/** The console's token, Slack's, a summary that is markup, and wrong tokens allowed before 429. */
const UI_TOKEN = 'console-token-for-tests-0123456789';
const SLACK_TOKEN = 'xoxb-console-test';
const HUBSPOT_TOKEN = 'pat-console-test';
const XSS = '<img src=x onerror=alert(1)>';
const MAX_FAILURES = 3;

const fakes = useFakeSlack([SLACK_TOKEN]);
/** The CRM: a receiver the test holds, so a delivery can be seen on its way before it is answered. */
let crm: GatedReceiver;
let hubspot: FakeHubspot;
let relay: TestRelay;
let browser: Browser;
let page: Page;
let cleanup: () => void;
let rulesPath: string;
const dialogs: string[] = [];
const cspViolations: string[] = [];
/** What the relay answered 404 while the pages loaded (the browser's own /favicon.ico included), as the browser's console reports it. */
const notFound: string[] = [];
/** Every request the pages made that did not go to the relay (the console must need nothing else: no CDN, no internet). */
const elsewhere: string[] = [];
/** The Content-Security-Policy of every console answer the browser got. */
const policies = new Set<string>();

beforeAll(async () => {
  crm = await startGatedReceiver();
  hubspot = await startFakeHubspot({ token: HUBSPOT_TOKEN });
  const temp = tempDir();
  cleanup = temp.cleanup;
  relay = await startRoutingRelay({
    dir: temp.dir,
    rulesPath: (rulesPath = writeRules(temp.dir, RULES)),
    env: { SLACK_BOT_TOKEN: SLACK_TOKEN, HUBSPOT_ACCESS_TOKEN: HUBSPOT_TOKEN, CRM_URL: crm.url },
    sinkEnv: { slackApiUrl: fakes.slack.url, hubspotBaseUrl: hubspot.url },
    ui: { token: UI_TOKEN, livePollMs: 50, sessions: { maxFailures: MAX_FAILURES } },
  });
  ({ browser, page } = await launchBrowser());
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('console', (m) => {
    if (/status of 404/.test(m.text())) notFound.push(m.location().url);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(`${relay.url}/`) && !r.url().startsWith('data:')) elsewhere.push(r.url());
  });
  page.on('response', (r) => {
    if (r.url().startsWith(`${relay.url}/ui/`)) policies.add(r.headers()['content-security-policy'] ?? '(none)');
  });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
  await crm?.close();
  await hubspot?.close();
  cleanup?.();
});

const ui = (path = '') => `${relay.url}/ui/${path}`;

describe('the web console in Chromium', () => {
  it('refuses a wrong token, then signs in with the right one and shows the overview with its chart and sinks', async () => {
    // Given the sign-in page
    const answer = await page.goto(ui());
    expect(page.url()).toBe(ui('login'));
    expect(answer?.headers()['content-security-policy']).toBe(CSP);
    // When a wrong token is typed
    await page.fill('#token', 'not-the-token-at-all');
    await page.click('button[type=submit]');
    // Then it is refused and nothing of it reaches the log
    await expect(page.locator('.error').textContent()).resolves.toContain('not the console token');
    expect(relay.lines.join('\n')).not.toContain('not-the-token-at-all');
    // When the right one is
    await page.fill('#token', UI_TOKEN);
    await page.click('button[type=submit]');
    // Then the overview shows the sinks and the 24 h chart
    await page.waitForURL(ui());
    await expect(page.locator('#sinks tr[data-sink=slack]').textContent()).resolves.toContain('enabled');
    await page.waitForSelector('#chart[data-drawn="1440"] canvas');
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'husky_relay_ui')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });
    expect(await page.$$eval('script', (s) => s.filter((x) => !x.src).length)).toBe(0);
    await screenshot(page, 'overview');
  });

  it('shows a call with a dead delivery: the summary as text, the timeline of `call`, the error', async () => {
    // Given a call whose summary is markup, of a contact HubSpot knows, and a CRM that answers 404 (permanent: dead at once)
    const contactId = hubspot.seedContact({ email: 'ada@example.com' });
    crm.hold();
    await postEvent(relay, makeEvent({}, { call_id: 'call_xss', summary: XSS, contact_email: 'ada@example.com' }));
    await until(() => crm.waiting() === 1, { what: 'the CRM delivery on its way' });
    crm.release({ status: 404, body: '{"error":"injected 404"}' });
    await until(() => deliveriesOf(relay.log, { status: 'dead' }).length === 1 && deliveriesOf(relay.log, { status: 'succeeded' }).length === 2, { what: 'one dead, two delivered' });
    crm.release(); // 200 from now on
    // When the call is searched by id
    await page.goto(ui('events?call=call_xss'));
    // Then its summary shows as text and runs nothing
    await expect(page.locator('#events td.summary').first().textContent()).resolves.toBe(XSS);
    expect(await page.locator('#events img').count()).toBe(0);
    await screenshot(page, 'events');
    // When its call page is opened
    await page.click('a[href="/ui/calls/call_xss"]');
    await page.waitForURL(ui('calls/call_xss'));
    // Then the timeline is `call`'s, moment by moment, and the dead delivery shows its error
    const view = (await relay.store.projections.call('call_xss'))!;
    const moments = await page.locator('#timeline li').allTextContents();
    expect(moments).toHaveLength(view.timeline.length);
    const cli = callText(view);
    for (const [i, m] of view.timeline.entries()) {
      const detail = await page.locator('#timeline li .detail').nth(i).textContent();
      expect(cli).toContain(detail!.trim());
      expect(moments[i]).toContain(String(m.seq));
    }
    const dead = deliveriesOf(relay.log, { status: 'dead' })[0]!;
    await expect(page.locator(`tr[data-delivery="${dead.delivery_id}"]`).textContent()).resolves.toMatch(/dead: .*404/);
    // and, under it, the request it sent and its attempt with the error
    const details = page.locator(`tr[data-delivery="${dead.delivery_id}"] + tr`);
    expect(JSON.parse((await details.locator('pre.request').textContent())!)).toMatchObject({ body: { call: 'call_xss' } });
    await expect(details.textContent().then((t) => t!.replace(/\s+/g, ' '))).resolves.toMatch(/attempt 1 at \S+: failed, \d+ ms — permanent http_404 \(HTTP 404\): HTTP 404/);
    // and the delivered ones link to what they made: the Slack message, the HubSpot contact the note is on
    const links = await page.locator('#call-deliveries a').evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
    expect(links).toEqual([
      ['Slack message', expect.stringMatching(/^https:\/\/slack\.com\/archives\/C\w+\/p\d+$/)],
      ['HubSpot contact', `https://app.hubspot.com/contacts/4711/record/0-1/${contactId}`],
    ]);
    expect(dialogs).toEqual([]);
    await screenshot(page, 'call');
  });

  it('re-drives the dead delivery from the call page: by console in the log, the receiver gets it, the page updates live', async () => {
    const dead = deliveriesOf(relay.log, { status: 'dead' })[0]!;
    const before = crm.received.length;
    // When re-drive is clicked (the receiver holding its answer)
    crm.hold();
    await page.click(`tr[data-delivery="${dead.delivery_id}"] button`);
    // Then the log has the CLI's entry with by: console, and the receiver gets the delivery
    await until(() => crm.waiting() === 1, { what: 'the re-driven delivery at the receiver', describe: () => [crm.received.length, before, entriesOf(relay.log, 'delivery.retried'), relay.lines.slice(-5)] });
    expect(crm.received.length).toBe(before + 1);
    expect(entriesOf(relay.log, 'delivery.retried').map((e) => e.data)).toEqual([{ delivery_id: dead.delivery_id, reason: 're-driven by id', by: 'console' }]);
    // the browser is back on the call page, which shows it re-driven and not yet delivered
    await expect(page.locator('.flash').textContent()).resolves.toContain(`re-driven: ${dead.delivery_id}`);
    const status = page.locator(`tr[data-delivery="${dead.delivery_id}"] td[class^=status-]`);
    await expect(status.textContent()).resolves.not.toMatch(/succeeded|dead/);
    // and when the receiver answers, the page, not reloaded, shows it delivered
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    crm.release();
    await page.waitForSelector(`tr[data-delivery="${dead.delivery_id}"] td.status-succeeded`);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
    // the timeline says who re-drove it, as `call` does
    await expect(page.locator('#timeline').textContent()).resolves.toContain('re-driven by console: re-driven by id');
  });

  it('shows a new event on the events page without a reload (server-sent events)', async () => {
    await page.goto(ui('events'));
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    const body = makeEvent({}, { call_id: 'call_live', summary: 'arrived while watching' });
    await postEvent(relay, body);
    const eventId = (JSON.parse(body) as { event_id: string }).event_id;
    await page.waitForSelector(`#events tr[data-event="${eventId}"]`);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
  });

  it("searches events by event id, type and time, and filters deliveries, with the pages' own forms", async () => {
    const xss = entriesOf(relay.log, 'event.received').find((e) => e.data.call_id === 'call_xss')!.data;
    const rows = async (table: string) => page.locator(`#${table} tbody tr[data-${table === 'events' ? 'event' : 'delivery'}]`).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event') ?? tr.getAttribute('data-delivery')));
    const search = async (path: string, fields: Record<string, string>) => {
      await page.goto(ui(path));
      for (const [name, value] of Object.entries(fields)) {
        const field = page.locator(`form.filters [name=${name}]`);
        if ((await field.evaluate((el) => el.tagName)) === 'SELECT') await field.selectOption(value);
        else await field.fill(value);
      }
      await Promise.all([page.waitForURL(/\?/), page.click('form.filters button[type=submit]')]);
    };
    // events: by event id, by type, by time
    await search('events', { event: xss.event_id });
    expect(await rows('events')).toEqual([xss.event_id]);
    await search('events', { type: 'call.failed' });
    expect(await rows('events')).toEqual([]);
    await expect(page.locator('#events').textContent()).resolves.toContain('no events match');
    await search('events', { type: 'call.completed', until: '2999-01-01T00:00:00Z' });
    expect(await rows('events')).toEqual(entriesOf(relay.log, 'event.received').map((e) => e.data.event_id).reverse());
    await search('events', { since: '2999-01-01T00:00:00Z' });
    expect(await rows('events')).toEqual([]);
    await search('events', { since: 'yesterday' });
    await expect(page.locator('.error').textContent()).resolves.toContain('since/until: write a date-time');
    // deliveries: by call, by call and sink, by status
    const ofXss = deliveriesOf(relay.log).filter((d) => d.call_id === 'call_xss');
    await search('deliveries', { call: 'call_xss' });
    expect(await rows('deliveries')).toEqual(ofXss.map((d) => d.delivery_id).reverse());
    await search('deliveries', { call: 'call_xss', sink: 'crm' });
    expect(await rows('deliveries')).toEqual(ofXss.filter((d) => d.sink === 'crm').map((d) => d.delivery_id));
    await search('deliveries', { status: 'dead' });
    expect(await rows('deliveries')).toEqual([]);
  });

  it('resumes a paused sink from the deliveries page, and its waiting delivery goes out', async () => {
    // Given Slack refuses the token: the sink pauses, its delivery waits
    fakes.slack.revoke(SLACK_TOKEN);
    await postEvent(relay, makeEvent({}, { call_id: 'call_paused', summary: 'while paused' }));
    await until(() => entriesOf(relay.log, 'sink.paused').length === 1, { what: 'sink.paused' });
    fakes.slack.restore(SLACK_TOKEN);
    await page.goto(ui('deliveries'));
    await expect(page.locator('#sink-actions tr[data-sink=slack]').textContent()).resolves.toContain('PAUSED');
    await screenshot(page, 'deliveries');
    // When resume is clicked
    await page.click('#sink-actions tr[data-sink=slack] button');
    // Then the log has sink.resumed by console, and the delivery is sent
    await until(() => entriesOf(relay.log, 'sink.resumed').length === 1, { what: 'sink.resumed' });
    expect(entriesOf(relay.log, 'sink.resumed')[0]!.data).toMatchObject({ sink: 'slack', code: 'resume', by: 'console' });
    await until(() => fakes.slack.messages.some((m) => m.text === 'while paused'), { what: 'the waiting message in Slack' });
    await expect(page.locator('.flash').textContent()).resolves.toContain('resumed: slack');
  });

  it('resumes a paused sink from the overview and comes back to the overview with the outcome', async () => {
    // Given Slack paused a second time (its token still refused, so no probe resumes it first)
    fakes.slack.revoke(SLACK_TOKEN);
    await postEvent(relay, makeEvent({}, { call_id: 'call_paused_again', summary: 'paused again' }));
    await until(() => entriesOf(relay.log, 'sink.paused').length === 2, { what: 'the second sink.paused' });
    // the overview's counts may be up to 2 s old while the log grows (README "Console pages")
    await until(
      async () => {
        await page.goto(ui());
        return (await page.locator('tr[data-sink=slack] button').count()) === 1;
      },
      { what: 'Resume on the overview' },
    );
    // When Resume is clicked on the overview
    await page.click('tr[data-sink=slack] button');
    // Then the browser is back on the overview, which says so
    await until(() => entriesOf(relay.log, 'sink.resumed').length === 2, { what: 'the second sink.resumed' });
    await page.waitForSelector('.flash');
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await expect(page.locator('.flash').textContent()).resolves.toContain('resumed: slack');
    await expect(page.locator('h1').first().textContent()).resolves.toContain('Overview');
    fakes.slack.restore(SLACK_TOKEN);
  });

  it('tests the rules against a logged event, as `rules test` does', async () => {
    await page.goto(ui('rules'));
    await expect(page.locator('#rules-hash').textContent()).resolves.toMatch(/^[0-9a-f]{8,}/);
    const eventId = entriesOf(relay.log, 'event.received')[0]!.data.event_id;
    await page.fill('input[name=event_id]', eventId);
    await page.click('form[action="/ui/rules/test"] button');
    await expect(page.locator('#test-result').textContent()).resolves.toContain(`event ${eventId} (call.completed): 3 of 3 rules match`);
    // and against a pasted one
    await page.fill('input[name=event_id]', '');
    const pasted = makeEvent({}, { call_id: 'call_pasted', summary: 'pasted, never sent' });
    await page.fill('textarea[name=event]', pasted);
    await page.click('form[action="/ui/rules/test"] button');
    await expect(page.locator('#test-result').textContent()).resolves.toContain(`event ${(JSON.parse(pasted) as { event_id: string }).event_id} (call.completed): 3 of 3 rules match`);
    await expect(page.locator('#test-result').textContent()).resolves.toContain('"text": "pasted, never sent"');
    expect(entriesOf(relay.log, 'event.received').some((e) => e.data.call_id === 'call_pasted')).toBe(false);
    await screenshot(page, 'rules');
  });

  it('shows the problems of the rules file as it is on disk, beside the rules still in force', async () => {
    const hash = await page.locator('#rules-hash').textContent();
    await expect(page.locator('#problems').textContent()).resolves.toBe('none');
    // When the file on disk is broken (a rule naming a sink that does not exist)
    writeFileSync(rulesPath, RULES.replace('sink: crm,', 'sink: nowhere,'));
    try {
      await page.goto(ui('rules'));
      // Then the page says what `rules check` says, and the rules in force are the ones before
      await expect(page.locator('#problems').textContent()).resolves.toMatch(/nowhere/);
      await expect(page.locator('#rules-hash').textContent()).resolves.toBe(hash);
    } finally {
      writeFileSync(rulesPath, RULES);
    }
  });

  it('refuses a POST without its CSRF token (403), with the session cookie', async () => {
    const request = page.context().request;
    const answer = await request.post(ui('sinks/slack/resume'), { form: { back: '/ui/' }, maxRedirects: 0 });
    expect(answer.status()).toBe(403);
    const forged = await request.post(ui('sinks/slack/resume'), { form: { _csrf: 'forged-token' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    // every POST the console routes (read from its router, so a new one is held to it too), with and without the session
    const dead = deliveriesOf(relay.log)[0]!.delivery_id;
    const routes = [...readFileSync(new URL('../src/console/index.ts', import.meta.url), 'utf8').matchAll(/router\.post\('([^']+)'/g)].map((m) => m[1]!.replace(':id', dead).replace(':sink', 'slack'));
    expect(routes).toHaveLength(6);
    const actions = () => entriesOf(relay.log, 'delivery.retried').length + entriesOf(relay.log, 'sink.resumed').length;
    const before = actions();
    for (const path of routes) {
      const form = { token: UI_TOKEN, back: '/ui/', event_id: dead };
      expect([path, (await request.post(`${relay.url}/ui${path}`, { form, maxRedirects: 0 })).status()]).toEqual([path, 403]);
      const stranger = await fetch(`${relay.url}/ui${path}`, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' });
      expect([path, stranger.status]).toEqual([path, 403]);
    }
    expect(actions()).toBe(before);
    // still signed in: the refused sign-out did nothing
    expect((await request.get(ui('deliveries'), { maxRedirects: 0 })).status()).toBe(200);
    expect(cspViolations).toEqual([]);
    expect(notFound).toEqual([]);
  });

  it('takes an open page to the sign-in page once its session has ended (a restart, 12 h idle, a sign-out elsewhere), instead of going stale', async () => {
    await page.goto(ui('events'));
    // the session ends on the relay's side; the browser still holds its cookie
    const csrf = await page.locator('input[name=_csrf]').first().getAttribute('value');
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const out = await fetch(ui('logout'), {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf! }).toString(),
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    // the log grows: the page's live list asks again, is refused, and the page says so by going to the sign-in page
    await postEvent(relay, makeEvent({}, { call_id: 'call_after_sign_out' }));
    await page.waitForURL(/\/ui\/login$/);
    await expect(page.locator('input[name=token]').count()).resolves.toBe(1);
  });

  it('rate-limits sign-in: after the allowed wrong tokens, even the right one waits (429)', async () => {
    // the browser's wrong token counted once already
    const statuses: number[] = [];
    for (let i = 0; i < MAX_FAILURES; i++) statuses.push((await signInStatus(relay.url, 'wrong-token-number-' + i)).status);
    expect(statuses).toEqual([...Array(MAX_FAILURES - 1).fill(401), 429]);
    expect((await signInStatus(relay.url, UI_TOKEN)).status).toBe(429);
  });

  it('served every page, script, style and stream with the strict Content-Security-Policy, and the pages asked nothing of any other address', () => {
    // strict: nothing from elsewhere, no inline script or style, no eval, no frames
    expect(CSP).toMatch(/^default-src 'none'; /);
    expect(CSP).not.toMatch(/unsafe|\*|https?:/);
    for (const directive of ['script-src', 'style-src', 'connect-src', 'form-action']) expect(CSP).toContain(`${directive} 'self';`);
    expect(CSP).toContain("frame-ancestors 'none'");
    expect([...policies]).toEqual([CSP]);
    expect(elsewhere).toEqual([]);
  });

  it('never wrote the console token, right or wrong, to a log line', () => {
    const lines = relay.lines.join('\n');
    expect(lines).toContain('console: a sign-in with a wrong token was refused');
    for (const token of [UI_TOKEN, 'not-the-token-at-all', 'wrong-token-number-0']) expect(lines).not.toContain(token);
  });
});
