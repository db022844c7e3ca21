import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesCheck, rulesTest } from '../src/commands/rules.js';
import { startFakeSlack, type FakeSlack } from './fakes/fake-slack.js';
import { allHaveStatus, deliveriesOf, entriesOf, postEvent, until, writeRules } from './helpers/pipeline.js';
import { postToSlack, slackRelayHarness } from './helpers/relay-harness.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/*
 * Slack's Block Kit limits beyond section text (residual E): buttons, ids, URLs, images,
 * options, lists. The fake Slack refuses by its own table of Slack's documented limits, so what
 * it accepts is what Slack would.
 */

const TOKEN = 'xoxb-block-kit';
let slack: FakeSlack;
beforeAll(async () => (slack = await startFakeSlack({ token: TOKEN })));
afterAll(() => slack.close());

const button = (extra: Record<string, unknown>) => ({ type: 'button', text: { type: 'plain_text', text: 'Open' }, action_id: 'open', ...extra });
const actions = (...elements: unknown[]) => ({ type: 'actions', elements });
const x = (n: number) => 'x'.repeat(n);
const option = (text: string, value = 'v') => ({ text: { type: 'plain_text', text }, value });

describe("the fake Slack refuses, by Slack's documented limits, what Slack refuses (invalid_blocks)", () => {
  const post = (blocks: unknown[]) => postToSlack(slack, TOKEN, { text: 'fallback', blocks });

  it.each([
    ['button text 76', [actions(button({ text: { type: 'plain_text', text: x(76) } }))], '/blocks/0/elements/0/text/text'],
    ['button value 2,001', [actions(button({ value: x(2001) }))], '/blocks/0/elements/0/value'],
    ['button url 3,001', [actions(button({ url: `https://e.com/${x(2988)}` }))], '/blocks/0/elements/0/url'],
    ['action_id 256', [actions(button({ action_id: x(256) }))], '/blocks/0/elements/0/action_id'],
    ['block_id 256', [{ type: 'divider', block_id: x(256) }], '/blocks/0/block_id'],
    ['image alt_text 2,001', [{ type: 'image', image_url: 'https://e.com/i.png', alt_text: x(2001) }], '/blocks/0/alt_text'],
    ['image_url 3,001', [{ type: 'image', image_url: `https://e.com/${x(2988)}`, alt_text: 'a' }], '/blocks/0/image_url'],
    ['option text 76', [actions({ type: 'static_select', action_id: 's', options: [option(x(76))] })], '/blocks/0/elements/0/options/0/text/text'],
    ['option value 151', [actions({ type: 'static_select', action_id: 's', options: [option('o', x(151))] })], '/blocks/0/elements/0/options/0/value'],
    ['6 overflow options', [actions({ type: 'overflow', action_id: 'o', options: Array.from({ length: 6 }, () => option('o')) })], '/blocks/0/elements/0/options'],
    ['26 buttons', [actions(...Array.from({ length: 26 }, (_, i) => button({ action_id: `b${i}` })))], '/blocks/0/elements'],
    ['a context image url 3,001', [{ type: 'context', elements: [{ type: 'image', image_url: `https://e.com/${x(2988)}`, alt_text: 'a' }] }], '/blocks/0/elements/0/image_url'],
  ])('%s → invalid_blocks', async (_name, blocks, pointer) => {
    expect(await post(blocks)).toMatch(new RegExp(`^invalid_blocks: must be less than \\d+ (characters|items) \\[json-pointer:${pointer}\\]$`));
  });

  it('exactly at every limit: accepted', async () => {
    const blocks = [
      actions(button({ text: { type: 'plain_text', text: x(75) }, value: x(2000), url: `https://e.com/${x(2986)}`, action_id: x(255) })),
      { type: 'image', image_url: `https://e.com/${x(2986)}`, alt_text: x(2000), block_id: x(255) },
      actions({ type: 'static_select', action_id: 's', options: [option(x(75), x(150))] }),
    ];
    expect(await post(blocks)).toBe('ok');
  });
});

const RULES = `version: 1
sinks:
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
rules:
  - id: card
    on: call.completed
    actions:
      - sink: slack
        channel: "#calls"
        text: "{{ data.summary }}"
        blocks:
          - type: image
            image_url: "https://img.example/{{ data.call_id }}.png"
            alt_text: "{{ data.summary }}"
          - type: actions
            elements:
              - type: button
                text: { type: plain_text, text: "Listen to {{ data.summary }}" }
                action_id: "listen-{{ data.call_id }}"
                value: "{{ data.call_id }}"
              - type: static_select
                action_id: pick
                placeholder: { type: plain_text, text: "{{ data.summary }}" }
                options:
                  - { text: { type: plain_text, text: "{{ data.summary }}" }, value: one }
          - type: context
            elements:
${Array.from({ length: 14 }, (_, i) => `              - { type: mrkdwn, text: "${i} {{ data.agent_id }}" }`).join('\n')}
  - id: link
    on: call.failed
    actions:
      - sink: slack
        channel: "#calls"
        text: failed
        blocks:
          - type: actions
            elements:
              - { type: button, text: { type: plain_text, text: Recording }, action_id: rec, url: "{{ data.recording_url }}" }
`;

describe('the relay keeps every Block Kit limit: cuts text with a marker, refuses what cannot be cut', () => {
  const harness = slackRelayHarness(() => slack, TOKEN);
  let relay: TestRelay | undefined;
  const start = async () => {
    const started = await harness.start(RULES);
    relay = started.relay;
    return started;
  };
  // escaped, each "Q&A <x> " is 20 characters Slack counts: cut after escaping, never inside an entity
  const summary = 'Q&A <x> '.repeat(600);

  it('long text in buttons, options, placeholders, alt_text, message text and a long context: delivered, each cut with a visible marker', async () => {
    await start();
    await postEvent(relay!, makeEvent({}, { summary }));
    await until(() => allHaveStatus(relay!.log, 'succeeded', 1), { what: 'the card to be delivered', describe: () => deliveriesOf(relay!.log) });
    const [message] = slack.messages;
    const blocks = message!.blocks as any[];
    const [buttonEl, select] = blocks[1].elements;
    expect(buttonEl.text.text).toHaveLength(75);
    expect(buttonEl.text.text).toMatch(/^Listen to Q&A <x> .*…$/); // plain_text: not escaped, shown as written
    expect(select.placeholder.text).toHaveLength(150);
    expect(select.options[0].text.text).toHaveLength(75);
    expect(blocks[0].alt_text).toHaveLength(2000);
    expect(blocks[0].alt_text.endsWith('…')).toBe(true);
    expect(blocks[2].elements).toHaveLength(10);
    expect(blocks[2].elements[9]).toEqual({ type: 'mrkdwn', text: '… 5 more elements not shown' });
    // the message text is escaped (mrkdwn): 10,800 characters once escaped, over the 4,000 Slack advises, sent whole
    expect(message!.text).toHaveLength(summary.length + 600 * 10);
    expect(message!.text!.startsWith('Q&amp;A &lt;x&gt; ')).toBe(true);
  });

  it('a URL over Slack\'s limit cannot be cut: the delivery is dead with invalid_request naming it, nothing is sent', async () => {
    await start();
    const url = `https://rec.example/${'r'.repeat(3100)}`;
    await postEvent(relay!, makeEvent({ event_type: 'call.failed' }, { recording_url: url }));
    await until(() => allHaveStatus(relay!.log, 'dead', 1), { what: 'the delivery to go dead', describe: () => deliveriesOf(relay!.log) });
    const [dead] = entriesOf(relay!.log, 'delivery.dead');
    expect(dead!.data.reason).toMatch(/^invalid_request: blocks\[0\]\.elements\[0\]\.url: 3120 characters, over Slack's limit of 3000 for a button url; Slack would refuse the message/);
    expect(slack.requests.filter((r) => r.path.includes('chat.'))).toEqual([]);
  });

  it('rules test names what is cut, what Slack advises against, and what cannot be sent', async () => {
    const { dir, rulesPath } = await start();
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    await rulesTest(rulesPath, writeRules(dir, makeEvent({}, { summary }), 'completed.json'), { SLACK_BOT_TOKEN: TOKEN }, io);
    const card = out.join('\n');
    expect(card).toContain("warning: text: 10800 characters, over the 4000 Slack advises for message text (sent whole; Slack cuts at 40000)");
    expect(card).toContain("warning: blocks[1].elements[0].text.text: 4810 characters, over Slack's limit of 75 for button text: cut to fit");
    expect(card).toContain("warning: blocks[1].elements[1].options[0].text.text: 4800 characters, over Slack's limit of 75 for option text: cut to fit");
    expect(card).toContain("warning: blocks[2].elements: 14 context elements, over Slack's limit of 10: cut to fit");
    out.length = 0;
    await rulesTest(rulesPath, writeRules(dir, makeEvent({ event_type: 'call.failed' }, { recording_url: `https://r/${x(3000)}` }), 'failed.json'), { SLACK_BOT_TOKEN: TOKEN }, io);
    expect(out.join('\n')).toMatch(/action 0 → slack: FAILS, the delivery would go dead: invalid_request: blocks\[0\]\.elements\[0\]\.url: 3010 characters, over Slack's limit of 3000 for a button url/);
  });
});

describe('rules check measures what is written out (no template) against the same limits', () => {
  it('an id, a value or a list of buttons that can never fit: an error at its line; text that will be cut: a warning; templates: not measured', async () => {
    const temp = tempDir();
    try {
      const rules = `version: 1
sinks:
  slack: { type: slack, token: xoxb-literal }
rules:
  - id: r
    on: call.completed
    actions:
      - sink: slack
        channel: "#c"
        blocks:
          - type: actions
            block_id: ${x(256)}
            elements:
              - { type: button, text: { type: plain_text, text: ${x(80)} }, action_id: "{{ data.call_id }}${x(300)}", value: ${x(2001)} }
          - type: actions
            elements: [${Array.from({ length: 26 }, (_, i) => `{ type: button, text: { type: plain_text, text: b }, action_id: b${i} }`).join(', ')}]
`;
      const path = writeRules(temp.dir, rules);
      const lines: string[] = [];
      const code = await rulesCheck(path, {}, {}, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
      expect(code).toBe(1);
      expect(lines).toEqual([
        expect.stringMatching(/rules\.yaml:12:23: 256 characters, over Slack's limit of 255 for a block_id; Slack would refuse the message/),
        expect.stringMatching(/rules\.yaml:14:65: warning: 80 characters, over Slack's limit of 75 for button text: it will be cut to fit$/),
        expect.stringMatching(/rules\.yaml:14:489: 2001 characters, over Slack's limit of 2000 for a button value; Slack would refuse the message/),
        expect.stringMatching(/rules\.yaml:16:23: 26 actions elements, over Slack's limit of 25; Slack would refuse the message/),
        `${path}: 3 errors`,
      ]);
    } finally {
      temp.cleanup();
    }
  });
});
