import { describe, expect, it } from 'vitest';
import { useConsoleRelay } from './helpers/console-relay.js';
import { closedPortOrigin } from './fakes/closed-port.js';
import { deliveriesOf, postEvent, until } from './helpers/pipeline.js';
import { makeEvent } from './helpers/relay.js';

/**
 * The console shows event data as text (README "Console"): HTML escaped, and the controls a
 * browser would act on without showing them written as escapes, as the CLI writes them. A
 * right-to-left override in a summary would otherwise show `Invoice exe.pdf` as `Invoice fdp.exe`.
 */
const UI_TOKEN = 'console-token-for-text-0123456789';
const RLO = '\u202e';
const HOSTILE = {
  summary: `Invoice ${RLO}fdp.exe & <b>bold</b>\nsecond line\tend`,
  agent_id: `agent${RLO}\u2066\u001b[31m\u0085`,
};
const RULES = async () => `version: 1\nsinks:\n  hook: { type: http, url: "${await closedPortOrigin()}/in" }\nrules:\n  - id: all\n    on: "*"\n    actions: [{ sink: hook }]\n`;
const ui = useConsoleRelay(UI_TOKEN, RULES, async (relay) => {
  await postEvent(relay, makeEvent({ event_id: 'evt_text' }, { call_id: 'call_text', ...HOSTILE }));
  await until(() => deliveriesOf(relay.log).length === 1, { what: 'the delivery planned' });
});

describe('event data on the console pages', () => {
  it.each(['/ui/calls/call_text', '/ui/events', '/ui/events?call=call_text'])('%s shows bidirectional and C0/C1 controls as escapes and HTML as text', async (path) => {
    const answer = await fetch(`${ui.relay.url}${path}`, { headers: { cookie: ui.cookie } });
    expect(answer.status).toBe(200);
    const html = await answer.text();
    // Then no control a browser acts on reaches the page
    expect(html).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    // and the summary reads as it was sent, its override shown where it is, its markup as text
    expect(html).toContain('Invoice \\u202efdp.exe &amp; &lt;b&gt;bold&lt;/b&gt;');
  });

  it('the call page shows the agent id with each control escaped, and the request with its line breaks', async () => {
    const html = await (await fetch(`${ui.relay.url}/ui/calls/call_text`, { headers: { cookie: ui.cookie } })).text();
    // (the body is shown as JSON: JSON writes C0 controls, the line break and the tab as escapes of its own)
    expect(html).toContain('agent\\u202e\\u2066\\u001b[31m\\u0085');
    // and the planned request, laid out on lines of its own, keeps them
    expect(html).toMatch(/<pre class="request">\{\n {2}&#34;/);
  });
});
