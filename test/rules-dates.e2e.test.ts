import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './helpers/cli.js';
import { makeEvent, tempDir } from './helpers/relay.js';

const temp = tempDir();
afterAll(() => temp.cleanup());

const RULES = `version: 1
sinks:
  hubspot: { type: hubspot, access_token: pat }
  console: { type: log }
rules:
  - id: crm
    on: call.completed
    actions:
      - { sink: hubspot, create: call, contact: { email: a@b.test } }
      - sink: console
        text: "{{ event.created_at | date: '%Y-%m-%d %H:%M %z %B' }} | {{ data.day | date: '%H:%M' }} | {{ data.epoch | date: '%Y-%m-%dT%H:%M' }} | {{ data.other | date: '%H' }}"
  - id: clock
    on: call.completed
    actions:
      - sink: console
        text: "{% assign t = data.when %}{{ t | date: '%Y' }}"
`;

/** What `rules test` prints for the zone-less event, under a host time zone. */
async function rulesTestUnder(tz: string): Promise<string> {
  writeFileSync(join(temp.dir, 'rules.yaml'), RULES);
  writeFileSync(
    join(temp.dir, 'event.json'),
    makeEvent({ event_id: 'evt_tz', created_at: '2026-06-01T10:00:00' }, { day: '2026-06-01', epoch: 1780308000, other: 'June 1, 2026 10:00', when: 'now' }),
  );
  const result = await runCli(['--rules', 'rules.yaml', 'rules', 'test', 'event.json'], { cwd: temp.dir, env: cliEnv({ TZ: tz }) });
  expect(result.code).toBe(0);
  return result.stdout;
}

describe('dates do not depend on the host time zone', () => {
  it.each(['UTC', 'America/New_York', 'Asia/Tokyo', 'Pacific/Chatham'])('under TZ=%s, a zone-less created_at is UTC everywhere', async (tz) => {
    // When
    const out = await rulesTestUnder(tz);
    // Then HubSpot's hs_timestamp and the date filter read 10:00 as UTC, and print in UTC
    expect(out).toContain('"hs_timestamp": "2026-06-01T10:00:00.000Z"');
    expect(out).toContain('"text": "2026-06-01 10:00 +0000 June | 00:00 | 2026-06-01T10:00 | June 1, 2026 10:00"');
    // and a template that reaches the clock through data fails, visibly, instead of reading it
    expect(out).toMatch(/action 0 → console: FAILS, the delivery would go dead: render_failed: text: date: "now" would read the clock/);
  });

  it.each(['UTC', 'America/New_York', 'Asia/Tokyo'])('under TZ=%s, CEL reads timestamps as the relay does: a zone-less one is UTC, days and zones by the calendar', async (tz) => {
    // Given conditions on a zone-less created_at with a fraction (accepted at ingest, as UTC)
    const when = {
      'hour': 'timestamp(event.created_at).getHours() == 10',
      'zone-less': 'timestamp("2026-06-01T10:00:00") == timestamp("2026-06-01T10:00:00Z")',
      'day-of-year': 'timestamp(event.created_at).getDayOfYear() == 151 && timestamp(event.created_at).getDayOfYear("Asia/Tokyo") == 151',
      'in-a-zone': 'timestamp(event.created_at).getHours("Asia/Kolkata") == 15 && timestamp(event.created_at).getMinutes("+05:30") == 30',
      // 02:30 in Tokyo on the day New York skips 02:00 to 03:00
      'no-such-hour-here': 'timestamp("2026-03-07T17:30:00Z").getHours("Asia/Tokyo") == 2',
    };
    writeFileSync(join(temp.dir, 'cel.yaml'), `version: 1\nsinks:\n  console: { type: log }\nrules:\n${Object.entries(when).map(([id, w]) => `  - { id: ${id}, on: call.completed, when: '${w}', actions: [{ sink: console, text: ok }] }\n`).join('')}`);
    writeFileSync(join(temp.dir, 'cel-event.json'), makeEvent({ event_id: 'evt_cel', created_at: '2026-06-01T10:00:00.5' }));
    // When
    const result = await runCli(['--rules', 'cel.yaml', 'rules', 'test', 'cel-event.json'], { cwd: temp.dir, env: cliEnv({ TZ: tz }) });
    // Then every condition holds, on every host
    expect(result.stdout.split('\n').filter((l) => /^[✓✗]/.test(l)).sort()).toEqual(Object.keys(when).map((id) => `✓ ${id}`).sort());
  });

  it.each(['C', 'de_DE.UTF-8', 'ja_JP.UTF-8'])('under LC_ALL=%s, the date filter\'s locale formats (c, x, X) print as in English, not in the host\'s locale', async (locale) => {
    // Given
    writeFileSync(join(temp.dir, 'locale.yaml'), `version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: r\n    on: call.completed\n    actions: [{ sink: console, text: "{{ event.created_at | date: '%c | %x | %X | %%c' }}" }]\n`);
    writeFileSync(join(temp.dir, 'locale-event.json'), makeEvent({ event_id: 'evt_locale', created_at: '2026-06-01T15:04:05Z' }));
    // When
    const result = await runCli(['--rules', 'locale.yaml', 'rules', 'test', 'locale-event.json'], { cwd: temp.dir, env: cliEnv({ TZ: 'Asia/Tokyo', LC_ALL: locale, LANG: locale }) });
    // Then
    expect(result.stdout).toContain('"text": "6/1/2026, 3:04:05 PM | 6/1/2026 | 3:04:05 PM | %c"');
  });

  it('a literal "now" | date is refused at load, located', async () => {
    // Given
    writeFileSync(join(temp.dir, 'clock.yaml'), `version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: r\n    on: "*"\n    actions:\n      - sink: console\n        text: "sent {{ 'now' | date: '%H:%M' }}"\n      - { sink: console, text: "{{ \\"today\\" | date_to_string }}" }\n`);
    // When
    const result = await runCli(['--rules', 'clock.yaml', 'rules', 'check'], { cwd: temp.dir });
    // Then
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('clock.yaml:9:15: invalid Liquid template: "now" reads the clock, which templates may not do');
    expect(result.stderr).toContain('clock.yaml:10:32: invalid Liquid template: "today" reads the clock');
  });
});
