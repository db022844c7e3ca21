import { describe, expect, it } from 'vitest';
import { useConsoleRelay } from './helpers/console-relay.js';
import { closedPortOrigin } from './fakes/closed-port.js';
import { deliveriesOf, postEvent, until } from './helpers/pipeline.js';
import { makeEvent } from './helpers/relay.js';

/**
 * What the console hands back to the server (an option's value, an input's value, a textarea)
 * carries the exact value, HTML-escaped only (README "Console", the `attr` filter); text shown
 * writes controls as escapes. Written as escapes in the sink filter's option, a sink named with a
 * right-to-left override was submitted as `g\u202eood` and the filter found nothing; put back into
 * the rules test's input that way, the event id named no event when Test was pressed again.
 */
const UI_TOKEN = 'console-token-for-attrs-0123456789';
const RLO = '\u202e';
const SINK = `g${RLO}ood`;
const EVENT_ID = `evt_${RLO}1"&<x>`;
const RULES = async () => `version: 1\nsinks:\n  "${SINK}": { type: http, url: "${await closedPortOrigin()}/in" }\nrules:\n  - id: all\n    on: "*"\n    actions: [{ sink: "${SINK}" }]\n`;
const ui = useConsoleRelay(UI_TOKEN, RULES, async (relay) => {
  await postEvent(relay, makeEvent({ event_id: EVENT_ID, event_type: 'call.completed' }, { call_id: 'call_attrs' }));
  await until(() => deliveriesOf(relay.log).length === 1, { what: 'the delivery planned' });
});

/** Text of an HTML attribute or element, as a browser decodes it (the escapes liquidjs writes). */
const unescape = (html: string): string =>
  html.replace(/&(amp|lt|gt|#34|#39|quot);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', '#34': '"', '#39': "'", quot: '"' })[e]!);

const get = async (path: string): Promise<string> => (await fetch(`${ui.relay.url}${path}`, { headers: { cookie: ui.cookie } })).text();

const testRules = async (fields: Record<string, string>): Promise<string> => {
  const csrf = /name="_csrf" value="([^"]*)"/.exec(await get('/ui/rules'))![1]!;
  const answer = await fetch(`${ui.relay.url}/ui/rules/test`, {
    method: 'POST',
    headers: { cookie: ui.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: unescape(csrf), ...fields }).toString(),
  });
  expect(answer.status).toBe(200);
  return answer.text();
};

describe('values the console\'s forms submit back', () => {
  it('the deliveries page\'s sink filter: the option submits the sink\'s exact name, and the filter finds its deliveries', async () => {
    // Given the deliveries page's sink filter
    const html = await get('/ui/deliveries');
    const select = /<select name="sink">(.*?)<\/select>/s.exec(html)![1]!;
    // (a browser submits an option's value=, or its text when it has none)
    const options = [...select.matchAll(/<option([^>]*)>([^<]*)<\/option>/g)].map(([, attrs, text]) => unescape(/value="([^"]*)"/.exec(attrs!)?.[1] ?? text!));
    // Then the sink is offered by its exact name
    expect(options).toContain(SINK);
    // and when chosen, the page lists its delivery
    const filtered = await get(`/ui/deliveries?sink=${encodeURIComponent(options.find((o) => o.startsWith('g'))!)}`);
    expect(filtered).toMatch(/<tr data-delivery="/);
    // while the option's text still shows the override as an escape
    expect(select).toContain('>g\\u202eood</option>');
  });

  it('the rules test by event id: the id put back in the input is the exact id, and Test again tests that event', async () => {
    // Given a test of the logged event by its id
    const first = await testRules({ event_id: EVENT_ID });
    expect(first).not.toContain('no event');
    // When the operator presses Test again with the input as the page put it back
    const again = unescape(/<input name="event_id" value="([^"]*)"/.exec(first)![1]!);
    expect(again).toBe(EVENT_ID);
    const second = await testRules({ event_id: again });
    // Then the same event is tested
    expect(second).not.toContain('no event');
    expect(/<pre id="test-result">([^<]*)<\/pre>/.exec(second)![1]).toBe(/<pre id="test-result">([^<]*)<\/pre>/.exec(first)![1]);
  });

  it('the rules test of a pasted event: the textarea keeps the pasted text exactly', async () => {
    const pasted = JSON.stringify(makeEvent({ event_id: `evt_${RLO}pasted`, event_type: 'call.completed' }, { summary: `a ${RLO}b </textarea> & "c"` }));
    const page = await testRules({ event: pasted });
    expect(unescape(/<textarea name="event"[^>]*>([^<]*)<\/textarea>/.exec(page)![1]!)).toBe(pasted);
  });
});
