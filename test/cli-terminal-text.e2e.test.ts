import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { cliEnv, killServe, runCli, startServe, type ServeProcess } from './helpers/cli.js';
import { SECRET, tempDir } from './helpers/relay.js';

// What a hostile sender puts in an event: clear screen, a right-to-left override, a C1 CSI, a
// line separator, DEL
const HOSTILE = '\u001b[2J\u202e\u009b\u2028\u007f';
const SHOWN = '\\u001b[2J\\u202e\\u009b\\u2028\\u007f';
const BOM = '\ufeff';

/** A character the terminal would act on; a newline is allowed only as the output's own line break. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** The same characters as bytes on the wire: ESC, DEL, and the UTF-8 of U+009B, U+202E, U+2028. */
const RAW_BYTES = [[0x1b], [0x7f], [0xc2, 0x9b], [0xe2, 0x80, 0xae], [0xe2, 0x80, 0xa8]].map((b) => Buffer.from(b));

/** Asserts that what a command wrote holds no byte a terminal would act on. */
function expectNoRawControl(written: string): void {
  expect(written).not.toMatch(RAW_CONTROL);
  const bytes = Buffer.from(written, 'utf8');
  for (const b of RAW_BYTES) expect(bytes.includes(b), `raw ${b.toString('hex')} in the output`).toBe(false);
}

const RULES = `version: 1
sinks:
  console: { type: log }
  hook: { type: http, url: "http://127.0.0.1:9/hook" }
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
rules:
  - id: shown
    on: call.completed
    actions:
      - sink: console
        text: "{{ data.summary }}"
      - sink: hook
      - sink: slack
        channel: "#calls"
        thread_key: "{{ data.call_id }}"
        text: "{{ data.summary }}"
`;

/** An event as HuskyVoice could send it, its ids and summary ending in `tail`: JSON text (ESC escaped, the rest raw, as JSON.stringify writes them). */
const eventJson = (tail: string) =>
  JSON.stringify({
    event_id: `evt_${tail}`,
    event_type: 'call.completed',
    created_at: '2026-06-01T10:00:00Z',
    org_id: 'org_1',
    data: { call_id: `call_${tail}`, agent_id: 'agent_1', status: 'completed', summary: `sum ${tail}` },
  });
const EVENT = eventJson(HOSTILE);

describe('text from events and files reaches the terminal escaped, and files are read as ingest reads bodies', () => {
  let temp: ReturnType<typeof tempDir>;
  let serve: ServeProcess | undefined;
  const cli = (...args: string[]) => runCli(['--rules', 'rules.yaml', ...args], { cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }), timeoutMs: 15_000 });

  beforeEach(() => {
    temp = tempDir('husky-terminal-');
    writeFileSync(join(temp.dir, 'rules.yaml'), RULES);
  });
  afterEach(async () => {
    await killServe(serve);
    serve = undefined;
    temp.cleanup();
  });

  it('rules test takes an event file that starts with a UTF-8 BOM, as POST /webhooks/husky does; bytes that are not UTF-8 are refused as ingest refuses them', async () => {
    // Given an event saved with a byte order mark (as Windows editors save it), and one in Latin-1
    writeFileSync(join(temp.dir, 'bom.json'), BOM + eventJson('bom'));
    writeFileSync(join(temp.dir, 'latin1.json'), Buffer.from('{"event_id":"caf\xe9"}', 'latin1'));
    // When rules test reads them
    const bom = await cli('rules', 'test', 'bom.json');
    const latin1 = await cli('rules', 'test', 'latin1.json');
    // Then the first is tested like any event, and the second is named as what the relay would refuse
    expect(bom.stderr).not.toContain('not JSON');
    expect(bom).toMatchObject({ code: 0 });
    expect(bom.stdout.split('\n')[0]).toBe('event evt_bom (call.completed): 1 of 1 rule matches');
    expect(latin1.code).toBe(1);
    expect(latin1.stderr.split('\n').at(-2)).toBe('latin1.json: not UTF-8 text; the relay would refuse it (400 invalid_json)');
  });

  it('a .env saved with a BOM keeps its first variable', async () => {
    // Given the Slack token on the first line of a .env that starts with a BOM
    writeFileSync(join(temp.dir, '.env'), `${BOM}SLACK_BOT_TOKEN=xoxb-test\n`);
    // When the rules are checked
    const check = await cli('rules', 'check');
    // Then the token is seen: the slack sink is enabled, with no warning that it is unset
    expect(check.stderr).not.toContain('SLACK_BOT_TOKEN} is not set');
    expect(check).toMatchObject({ code: 0, stdout: `${join(temp.dir, 'rules.yaml')}: ok (1 rule, 3 sinks, 3 enabled)\n` });
  });

  it('rules test shows ids, rendered requests and the body sent byte for byte with visible escapes', async () => {
    // Given an event whose ids and summary hold terminal controls
    writeFileSync(join(temp.dir, 'event.json'), EVENT);
    // When rules test prints the plans
    const test = await cli('rules', 'test', 'event.json');
    // Then nothing the terminal would act on is printed, and every place shows the escapes
    expect(test.code).toBe(0);
    expectNoRawControl(test.stdout);
    expect(test.stdout).toContain(`event evt_${SHOWN} (call.completed): 1 of 1 rule matches`);
    expect(test.stdout).toContain(`    "text": "sum ${SHOWN}"`);
    expect(test.stdout).toContain(`order key call_${SHOWN}`);
    expect(test.stdout).toContain(`    {"event_id":"evt_${SHOWN}","event_type":"call.completed"`);
    // and an error quoting the file's text (a raw ESC is not JSON) is escaped too
    writeFileSync(join(temp.dir, 'raw.json'), `\u001b[2J${HOSTILE}`);
    const raw = await cli('rules', 'test', 'raw.json');
    expect(raw.code).toBe(1);
    expect(raw.stderr).toContain('raw.json: not JSON: ');
    expect(raw.stderr).toContain('\\u001b[2J');
    expectNoRawControl(raw.stderr);
  });

  it("send prints the relay's answer with escapes, still the JSON it was; --json keeps the exact values", async () => {
    // Given a relay, and the hostile event saved with a BOM
    serve = await startServe({ dbPath: join(temp.dir, 'relay.db'), cwd: temp.dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET }) });
    writeFileSync(join(temp.dir, 'event.json'), BOM + EVENT);
    const db = ['--db', join(temp.dir, 'relay.db')];
    // When it is sent
    const sent = await cli(...db, 'send', 'event.json', '--url', serve.webhookUrl);
    // Then the relay's answer is printed escaped, and reads back as the exact id
    expect(sent.code).toBe(0);
    expectNoRawControl(sent.stdout);
    expect(sent.stdout).toMatch(/^200 \{"ok":true,"event_id":"evt_\\u001b\[2J\\u202e\\u009b\\u2028\\u007f","seq":\d+\}\n$/);
    expect((JSON.parse(sent.stdout.slice(4)) as { event_id: string }).event_id).toBe(`evt_${HOSTILE}`);
    // and --json prints the exact values, JSON-escaped
    const line = (await cli(...db, 'log', '--json', '--type', 'event.received')).stdout.trim();
    expect((JSON.parse(line) as { data: { event_id: string; call_id: string } }).data).toMatchObject({ event_id: `evt_${HOSTILE}`, call_id: `call_${HOSTILE}` });
    const story = JSON.parse((await cli(...db, 'call', '--json', `call_${HOSTILE}`)).stdout) as { call_id: string; events: { event_id: string }[] };
    expect(story).toMatchObject({ call_id: `call_${HOSTILE}`, events: [{ event_id: `evt_${HOSTILE}` }] });
  });

  it('resume, error lines and usage errors show what the sink said and what was given with escapes', async () => {
    // Given a log where a sink was paused with the reason its service gave
    const dbPath = join(temp.dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    log.append([{ type: 'sink.paused', data: { sink: 'hook', reason: `http_401: HTTP 401: ${HOSTILE}`, code: 'http_401', delivery_id: 'dlv_1' } }]);
    log.close();
    // When it is resumed, and commands are given an id and an option that hold the controls
    const resume = await cli('--db', dbPath, 'resume', 'hook');
    const retry = await cli('--db', dbPath, 'retry', `dlv_${HOSTILE}`);
    const usage = await cli('--db', dbPath, 'log', `--bogus${HOSTILE}`);
    // Then the service's reason is shown with escapes, and the one-line errors too
    expect(resume.code).toBe(0);
    expectNoRawControl(resume.stdout);
    expect(resume.stdout).toMatch(/^resumed: hook \(paused since \S+: http_401: HTTP 401: /);
    expect(resume.stdout.endsWith(`: http_401: HTTP 401: ${SHOWN})\n`)).toBe(true);
    expect(retry).toMatchObject({ code: 1, stderr: `husky-relay: retry: no delivery dlv_${SHOWN} (see \`husky-relay deliveries\`)\n` });
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain(`error: unknown option '--bogus${SHOWN}'`);
    expectNoRawControl(usage.stderr);
  });
});
