import { readFileSync } from 'node:fs';
import type { Envelope } from '../../src/receive/envelope.js';
import { templateCompiler } from '../../src/rules/compile-action.js';
import type { Scope } from '../../src/rules/liquid.js';
import type { SinkKind } from '../../src/sinks/kind.js';
import type { SinkConfig, SinkEnvironment, SinkType } from '../../src/sinks/types.js';
import { startFakeHttp } from '../fakes/fake-http.js';
import { startFakeHubspot } from '../fakes/fake-hubspot.js';
import type { FakeControls } from '../fakes/fake-server.js';
import { startFakeSlack } from '../fakes/fake-slack.js';

/**
 * What the sink contract suite (`sinks-contract.int.test.ts`) needs to run against one sink
 * kind: an action as rules.yaml writes it, and a destination (one of the fakes) with a config
 * full of secrets. A kind that sends nothing says so, with why, instead of a destination fake.
 */
export interface KindHarness {
  /** An action naming this kind's sink, as rules.yaml writes it (templates over `ENVELOPE`). */
  action: Record<string, unknown>;
  start(): Promise<Destination>;
}

export interface Destination {
  config: SinkConfig;
  env: SinkEnvironment;
  /** Every value put in `config` that is secret: the kind's `secrets(config)` must mask each. */
  secrets: string[];
  /** The fake it sends to: faults, recorded requests. Null for a kind that sends nothing. */
  fake: FakeControls | null;
  /** Why `fake` is null: what the kind does instead of sending. */
  sendsNothing?: string;
  /** Makes the destination's next answer quote `secret` where the kind puts it in its error. */
  echo(secret: string): void;
  /** Back to how it started: no faults pending, nothing recorded, its seed data in place. */
  reset(): void;
  close(): Promise<void>;
}

/** Nothing listens here: the SDK a harness does not use points at it. */
const NOWHERE = 'http://127.0.0.1:9/';

const SLACK_TOKEN = 'xoxb-1111111111-2222222222-contractSuiteTokenAbc';
const HUBSPOT_TOKEN = 'pat-na1-0f1e2d3c-4b5a-6978-8a9b-contractsuite';
const SIGNING_SECRET = 'whsec_Y29udHJhY3Qtc3VpdGUtc2lnbmluZy1rZXktMzJi';
const HEADER_TOKEN = 'Bearer hdr-7c6b5a4f3e2d1c0b9a8f-contract';
const URL_TOKEN = 'qtok-5e4d3c2b1a0f9e8d7c6b';

/** One harness per registered kind: the suite fails for a kind that has none. */
export const HARNESSES: Record<SinkType, KindHarness> = {
  slack: {
    action: { sink: 'team', channel: '#sales', text: 'Call {{ data.call_id }}: {{ data.summary }}', thread_key: '{{ data.call_id }}' },
    async start() {
      const fake = await startFakeSlack();
      return {
        config: { type: 'slack', token: SLACK_TOKEN },
        env: { slackApiUrl: fake.url, hubspotBaseUrl: NOWHERE },
        secrets: [SLACK_TOKEN],
        fake,
        // Slack's `error` of an ok:false answer becomes the code and the message
        echo: (secret) => fake.failNext({ slackError: `invalid_auth ${secret}` }),
        reset: () => fake.reset(),
        close: () => fake.close(),
      };
    },
  },
  hubspot: {
    action: { sink: 'crm', create: 'call', contact: { email: '{{ data.contact_email }}' }, upsert_key: '{{ data.call_id }}' },
    async start() {
      const fake = await startFakeHubspot();
      const seed = () => fake.seedContact({ email: 'dana@example.com' });
      seed();
      return {
        config: { type: 'hubspot', access_token: HUBSPOT_TOKEN },
        env: { slackApiUrl: NOWHERE, hubspotBaseUrl: fake.url },
        secrets: [HUBSPOT_TOKEN],
        fake,
        echo: (secret) => fake.failNext({ status: 400, body: { status: 'error', message: `Authentication credentials ${secret} not valid`, category: 'VALIDATION_ERROR' } }),
        reset: () => {
          fake.reset();
          seed();
        },
        close: () => fake.close(),
      };
    },
  },
  http: {
    action: { sink: 'audit', body: { call: '{{ data.call_id }}', summary: '{{ data.summary }}' }, headers: { 'x-call': '{{ data.call_id }}' } },
    async start() {
      const fake = await startFakeHttp();
      return {
        config: { type: 'http', url: `${fake.url}?token=${URL_TOKEN}`, secret: SIGNING_SECRET, headers: { authorization: HEADER_TOKEN } },
        env: { slackApiUrl: NOWHERE, hubspotBaseUrl: NOWHERE },
        secrets: [SIGNING_SECRET, HEADER_TOKEN, URL_TOKEN],
        fake,
        // a receiver's error page is quoted in the error
        echo: (secret) => fake.failNext({ status: 400, body: `rejected: ${secret}` }),
        reset: () => fake.reset(),
        close: () => fake.close(),
      };
    },
  },
  log: {
    action: { sink: 'console', text: 'call {{ data.call_id }}', fields: { summary: '{{ data.summary }}' } },
    async start() {
      return {
        config: { type: 'log' },
        env: { slackApiUrl: NOWHERE, hubspotBaseUrl: NOWHERE },
        secrets: [],
        fake: null,
        sendsNothing: 'the log sink prints the request and sends nothing: no destination can time out, be aborted, rate limit or echo',
        echo: () => {},
        reset: () => {},
        close: async () => {},
      };
    },
  },
};

export const ENVELOPE = JSON.parse(readFileSync(new URL('../fixtures/call.completed.json', import.meta.url), 'utf8')) as Envelope;

const SCOPE: Scope = {
  event: ENVELOPE as unknown as Record<string, unknown>,
  data: ENVELOPE.data as Record<string, unknown>,
  seq: 7,
  received_at: '2026-06-01T10:00:01Z',
};

/**
 * The request a kind renders from `action` for `ENVELOPE`, through the same steps as the
 * rules loader and the planner: shape, check, compile, render. Throws on any problem.
 */
export function renderThrough(kind: SinkKind, action: Record<string, unknown>) {
  const problems: string[] = [];
  const report = (path: (string | number)[], message: string) => problems.push(`${path.join('.')}: ${message}`);
  const parsed = kind.actionSchema.parse(action);
  kind.check(parsed, report);
  const compiled = kind.compile(parsed, templateCompiler(report));
  if (problems.length) throw new Error(`the harness action has problems: ${problems.join('; ')}`);
  return kind.render(compiled, SCOPE, ENVELOPE);
}
