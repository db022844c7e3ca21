import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { rulesTest } from '../src/commands/rules.js';
import { CUT_MARKER, SLACK_LIMITS } from '../src/sinks/slack/limits.js';
import { startFakeSlack, type FakeSlack } from './fakes/fake-slack.js';
import { allHaveStatus, postEvent, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir } from './helpers/relay.js';
import { postToSlack, slackRelayHarness } from './helpers/relay-harness.js';

const TOKEN = 'xoxb-limits';
let slack: FakeSlack;
beforeAll(async () => (slack = await startFakeSlack({ token: TOKEN })));
afterAll(() => slack.close());

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('the fake Slack refuses what Slack refuses', () => {
  const post = async (args: Record<string, unknown>) => (await postToSlack(slack, TOKEN, args)).split(':')[0];

  it.each([
    ['message text over 40,000', 'msg_too_long', { text: 'x'.repeat(SLACK_LIMITS.messageText + 1) }],
    ['section text over 3,000', 'invalid_blocks', { blocks: [section('x'.repeat(3001))] }],
    ['a header over 150', 'invalid_blocks', { blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] }],
    ['11 section fields', 'invalid_blocks', { blocks: [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }] }],
    ['a field over 2,000', 'invalid_blocks', { blocks: [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }] }],
    ['51 blocks', 'invalid_blocks', { blocks: Array.from({ length: 51 }, () => section('b')) }],
    ['11 context elements', 'invalid_blocks', { blocks: [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }] }],
    ['exactly at the limits', 'ok', { text: 'x'.repeat(40_000), blocks: [section('x'.repeat(3000))] }],
  ])('%s → %s', async (_name, expected, args) => {
    expect(await post(args)).toBe(expected);
  });
});

describe('the relay cuts Slack text to fit, after escaping', () => {
  const harness = slackRelayHarness(() => slack, TOKEN);

  const RULES = `version: 1
sinks:
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
rules:
  - id: long
    on: call.completed
    actions:
      - sink: slack
        channel: "#calls"
        text: "{{ data.summary }}{{ data.summary }}{{ data.summary }}{{ data.summary }}{{ data.summary }}{{ data.summary }}{{ data.summary }}{{ data.summary }}{{ data.summary }}"
        blocks:
          - type: header
            text: { type: plain_text, text: "{{ data.summary }}" }
          - type: section
            text: { type: mrkdwn, text: "{{ data.summary | truncate: 2990 }}" }
            fields:
${Array.from({ length: 12 }, (_, i) => `              - { type: mrkdwn, text: "${i}: {{ data.summary }}" }`).join('\n')}
`;
  const summary = 'Q&A <note> '.repeat(400);

  it('the issue\'s section (5,707 characters once escaped) is cut with a marker and delivered, no entity cut in half', async () => {
    // Given
    const { relay } = await harness.start(RULES);
    // When
    await postEvent(relay, makeEvent({}, { summary }));
    await until(() => allHaveStatus(relay.log, 'succeeded', 1), { what: 'the message to be delivered', describe: () => relay.lines.slice(-3) });
    // Then what Slack received fits every limit, cut where it had to be
    const [message] = slack.messages;
    const blocks = message!.blocks as { type: string; text?: { text: string }; fields?: { text: string }[] }[];
    const text = blocks[1]!.text!.text;
    expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.textObject);
    expect(text.length).toBeGreaterThan(SLACK_LIMITS.textObject - 10);
    expect(text.endsWith(CUT_MARKER)).toBe(true);
    expect(text).toMatch(/^Q&amp;A &lt;note&gt; /);
    expect(text.slice(0, -1)).not.toMatch(/&[a-z]{0,3}$/); // no entity cut in half
    expect(blocks[0]!.text!.text).toHaveLength(SLACK_LIMITS.headerText);
    expect(blocks[1]!.fields).toHaveLength(SLACK_LIMITS.sectionFields);
    expect(blocks[1]!.fields![9]).toEqual({ type: 'mrkdwn', text: `${CUT_MARKER} 3 more fields not shown` });
    expect(blocks[1]!.fields!.every((f) => f.text.length <= SLACK_LIMITS.sectionField)).toBe(true);
    expect(message!.text!.length).toBeLessThanOrEqual(SLACK_LIMITS.messageText);
    expect(message!.text!.endsWith(CUT_MARKER)).toBe(true);
  });

  it('rules test warns where it cut', async () => {
    // Given
    const { dir, cleanup } = tempDir();
    onTestFinished(cleanup);
    const rulesPath = writeRules(dir, RULES);
    const eventPath = writeRules(dir, makeEvent({}, { summary }), 'event.json');
    const out: string[] = [];
    // When
    const code = await rulesTest(rulesPath, eventPath, { SLACK_BOT_TOKEN: TOKEN }, { out: (l) => out.push(l), err: (l) => out.push(l) });
    // Then
    expect(code).toBe(0);
    const warnings = out.filter((l) => l.includes('warning:'));
    expect(warnings).toEqual([
      // the list of fields is written out in the file: rules check sees it, at its line
      expect.stringMatching(/rules\.yaml:17:15: warning: 12 section fields, over Slack's limit of 10: it will be cut to fit$/),
      expect.stringMatching(/warning: text: \d+ characters, over Slack's limit of 40000 for message text: cut to fit$/),
      expect.stringMatching(/warning: blocks\[0\]\.text\.text: 4400 characters, over Slack's limit of 150 for header text: cut to fit$/),
      expect.stringMatching(/warning: blocks\[1\]\.text\.text: \d+ characters, over Slack's limit of 3000 for section text: cut to fit$/),
      expect.stringMatching(/warning: blocks\[1\]\.fields: 12 section fields, over Slack's limit of 10: cut to fit$/),
      // the 10th field is the marker "… 3 more fields not shown"
      ...Array.from({ length: 9 }, (_, i) => expect.stringMatching(new RegExp(`warning: blocks\\[1\\]\\.fields\\[${i}\\]\\.text: \\d+ characters, over Slack's limit of 2000 for a section field`))),
    ]);
  });
});
