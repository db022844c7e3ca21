import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signIn } from './helpers/browser.js';
import { serveFixture } from './helpers/serve-fixture.js';
import { makeEvent, SECRET } from './helpers/relay.js';

/**
 * The console's event search reads `since`/`until` as the command line does (README "Dates and
 * time zones"): a time without a zone is UTC, whatever the zone of the host serve runs on.
 */

const relay = serveFixture();
afterEach(() => relay.teardown());

/** `at` as the zone-less UTC date-time a user types: `2026-06-01T10:00:00`. */
const zoneless = (at: number) => new Date(at).toISOString().slice(0, 19);

describe('console event search dates (issue 12 item 1)', () => {
  it('under TZ=Asia/Tokyo, since and until without a zone are UTC; what is not a date is refused on the page', async () => {
    // Given serve on a host in Tokyo, and an event received now
    const { serve, dbPath } = await relay.start({ TZ: 'Asia/Tokyo' });
    const body = makeEvent({ event_id: 'evt_console_tz' });
    const sent = await fetch(`${serve.url}/webhooks/husky`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-husky-signature': createHmac('sha256', SECRET).update(body).digest('hex') },
      body,
    });
    expect(sent.status).toBe(200);
    const { cookie } = await signIn(serve.url, readFileSync(join(dirname(dbPath), 'ui-token'), 'utf8').trim());
    const search = async (query: string) => (await fetch(`${serve.url}/ui/events?${query}`, { headers: { cookie } })).text();
    const inAnHour = zoneless(Date.now() + 3_600_000);
    const anHourAgo = zoneless(Date.now() - 3_600_000);
    // When / Then: an hour from now (UTC) is after the event, an hour ago before it
    expect(await search(`until=${inAnHour}`)).toContain('data-event="evt_console_tz"');
    expect(await search(`since=${inAnHour}`)).not.toContain('data-event="evt_console_tz"');
    expect(await search(`since=${anHourAgo}`)).toContain('data-event="evt_console_tz"');
    expect(await search(`since=${anHourAgo.slice(0, 16)}`)).toContain('data-event="evt_console_tz"'); // without seconds, as `log --since` takes
    expect(await search(`until=${anHourAgo}`)).not.toContain('data-event="evt_console_tz"');
    // and what is not a date is named on the page, not read some way of the host's
    for (const value of ['June 1, 2026', '2026-06-01T10:00:00 PM', '3']) {
      expect(await search(`since=${encodeURIComponent(value)}`)).toContain('since/until: write a date-time such as 2026-06-01T10:00:00Z (no zone means UTC)');
    }
  });
});
