import { z } from 'zod';
import { DEFAULTS } from '../config/defaults.js';
import { DURATION_PATTERN, formatSeconds } from './duration.js';

const { retry, concurrency, timeoutMs } = DEFAULTS.delivery;
const span = (ms: number) => formatSeconds(ms / 1000);

/**
 * The rules file's shape (SPEC §6), written once: `loadRules` validates with it and
 * `rules schema` prints it as JSON Schema for editors. Meaning that the shape cannot say
 * (sink names, CEL, Liquid, which action fits which sink) is checked in `check-*.ts`.
 */

const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'invalid duration (write it like 250ms, 10s, 5m or 1h)')
  .describe('A duration: 250ms, 10s, 5m or 1h');

const template = z.string().describe('A Liquid template; sees event, data, seq, received_at');

export const retrySchema = z
  .strictObject({
    max_attempts: z.int().min(1).optional().describe(`Failed attempts after which a delivery is dead. (Default: ${retry.max_attempts})`),
    initial_delay: duration.optional().describe(`Wait before the second attempt; doubles each time. (Default: ${span(retry.initial_delay_ms)})`),
    max_delay: duration.optional().describe(`The longest wait between two attempts. (Default: ${span(retry.max_delay_ms)})`),
  })
  .describe('Retry policy');

const common = {
  rate_limit: z
    .strictObject({
      per_second: z.number().positive().describe('Requests per second, on average'),
      burst: z.int().min(1).optional().describe('Requests allowed at once. (Default: per_second, at least 1)'),
    })
    .optional()
    .describe('Token bucket for this sink'),
  concurrency: z.int().min(1).optional().describe(`Attempts in flight at once for deliveries without an order key. (Default: ${concurrency})`),
  retry: retrySchema.optional(),
  timeout: duration.optional().describe(`Per-request timeout. (Default: ${span(timeoutMs)})`),
};

export const sinkSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('slack'), token: z.string().describe('Bot token, e.g. ${SLACK_BOT_TOKEN}'), ...common }),
  z.strictObject({
    type: z.literal('hubspot'),
    access_token: z.string().describe('Private app token, e.g. ${HUBSPOT_ACCESS_TOKEN}'),
    ...common,
  }),
  z.strictObject({
    type: z.literal('http'),
    url: z.url({ protocol: /^https?$/ }).describe('Where to POST'),
    secret: z.string().optional().describe('Standard Webhooks signing secret: "whsec_" + base64 of a 24 to 64 byte key, or any other string of at least 24 bytes'),
    headers: z.record(z.string(), z.string()).optional().describe('Sent with every request; may hold secrets'),
    ...common,
  }),
  z.strictObject({ type: z.literal('log'), ...common }),
]);

export const slackActionSchema = z
  .strictObject({
    sink: z.string().describe('Name of a slack sink'),
    channel: template.describe('Channel name (#sales) or id'),
    text: template.optional().describe('mrkdwn; values are escaped for Slack'),
    blocks: z.array(z.unknown()).optional().describe('Block Kit blocks; strings are Liquid templates'),
    thread_key: template.optional().describe('Same key → one thread (first message posted, later ones reply)'),
    replace: z.boolean().optional().describe('With thread_key: later messages edit the first one (a live card)'),
    broadcast: z.boolean().optional().describe('Replies are also sent to the channel'),
  })
  .describe('Post to Slack');

export const hubspotActionSchema = z
  .strictObject({
    sink: z.string().describe('Name of a hubspot sink'),
    create: z.enum(['call', 'note']).describe('What to create on the contact'),
    contact: z
      .strictObject({ id: template.optional(), email: template.optional(), phone: template.optional() })
      .describe('Found by id, else email, else phone'),
    if_no_contact: z.enum(['fail', 'skip', 'create']).optional().describe('When no contact matches. (Default: fail)'),
    properties: z
      .record(z.string(), z.union([template, z.number(), z.boolean()]))
      .optional()
      .describe('Override the default properties'),
    upsert_key: template.optional().describe('Later events with the same key update the object created first'),
  })
  .describe('Create a HubSpot call or note');

export const httpActionSchema = z
  .strictObject({
    sink: z.string().describe('Name of an http sink'),
    body: z.record(z.string(), z.unknown()).optional().describe('Sent as JSON; strings are Liquid templates. (Default: the envelope)'),
    headers: z.record(z.string(), template).optional(),
    method: z.enum(['POST', 'PUT', 'PATCH']).optional().describe('(Default: POST)'),
  })
  .describe('Send JSON to an HTTP endpoint');

export const logActionSchema = z
  .strictObject({
    sink: z.string().describe('Name of a log sink'),
    text: template.optional(),
    fields: z.record(z.string(), z.unknown()).optional().describe('Strings are Liquid templates'),
  })
  .describe('Print the rendered action; sends nothing');

export const ACTION_SCHEMAS = {
  slack: slackActionSchema,
  hubspot: hubspotActionSchema,
  http: httpActionSchema,
  log: logActionSchema,
} as const;

const eventTypes = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

function ruleSchema<A extends z.ZodType>(action: A) {
  return z.strictObject({
    id: z.string().min(1).describe('Unique; part of every delivery id, so keep it stable'),
    description: z.string().optional(),
    on: eventTypes.describe('An event type, a list, or a glob such as call.*'),
    when: z.string().optional().describe('A CEL expression over event, data, seq, received_at'),
    actions: z.array(action).min(1),
  });
}

function fileSchema<A extends z.ZodType>(action: A) {
  return z.strictObject({
    version: z.literal(1),
    sinks: z.record(z.string(), sinkSchema),
    retry: retrySchema.optional().describe(`Defaults for every sink: max_attempts ${retry.max_attempts}, initial_delay ${span(retry.initial_delay_ms)}, max_delay ${span(retry.max_delay_ms)}`),
    rules: z.array(ruleSchema(action)),
  });
}

/** Validation: an action is checked against its sink's action schema once sinks are known. */
export const actionRefSchema = z.looseObject({ sink: z.string() });
export const rulesFileSchema = fileSchema(actionRefSchema);
export const ruleItemSchema = ruleSchema(actionRefSchema);
export type RulesFile = z.infer<typeof rulesFileSchema>;
export type RuleItem = z.infer<typeof ruleItemSchema>;
export type SinkItem = z.infer<typeof sinkSchema>;

/** The JSON Schema editors use: every action shape is offered. */
export function rulesJsonSchema(): Record<string, unknown> {
  const action = z.union([slackActionSchema, hubspotActionSchema, httpActionSchema, logActionSchema]);
  return z.toJSONSchema(fileSchema(action).describe('husky-relay rules file'), { target: 'draft-2020-12' }) as Record<string, unknown>;
}
