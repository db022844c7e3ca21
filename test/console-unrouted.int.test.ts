import { describe, expect, it } from 'vitest';
import { useConsoleRelay } from './helpers/console-relay.js';
import { postEvent, until } from './helpers/pipeline.js';
import { makeEvent } from './helpers/relay.js';

/**
 * The overview says when events wait to be routed (README "Console"): with no rules file,
 * serve logs and acknowledges events but plans nothing, and no delivery exists whose age
 * would show it.
 */
const UI_TOKEN = 'console-token-for-unrouted-0123456';
const ui = useConsoleRelay(UI_TOKEN, null);

describe('the overview: events not routed', () => {
  it('shows 0 and no warning while nothing waits; the count and since when once events wait', async () => {
    const overview = async () => (await fetch(`${ui.relay.url}/ui/`, { headers: { cookie: ui.cookie } })).text();
    const idle = await overview();
    expect(idle).toMatch(/<b id="count-unrouted" class="">0<\/b>/);
    expect(idle).not.toContain('id="unrouted"');
    // When two events arrive and no rules are loaded
    await postEvent(ui.relay, makeEvent());
    await postEvent(ui.relay, makeEvent());
    // Then (the overview's counts are read again once the log has grown, at most every 2 s)
    let waiting = '';
    await until(async () => (waiting = await overview()).includes('id="unrouted"'), { what: 'the overview to say events wait' });
    const first = (await ui.relay.store.log.read(0, { limit: 1 }))[0]!;
    expect(waiting).toMatch(/<b id="count-unrouted" class="warn">2<\/b>/);
    expect(waiting).toContain(`2 entries logged but not routed yet, the oldest since <span class="mono">${first.at}</span>`);
  });
});
