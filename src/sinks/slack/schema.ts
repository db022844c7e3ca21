import { z } from 'zod';
import { template } from '../../rules/schema-parts.js';
import { sinkDeclaration, type SinkConfigOf } from '../common-options.js';

/** The shapes of the Slack kind: its declaration, its action, and the request it sends. */

export const slackConfigSchema = sinkDeclaration({
  type: z.literal('slack'),
  token: z.string().describe('Bot token, e.g. ${SLACK_BOT_TOKEN}'),
});

export type SlackSinkConfig = SinkConfigOf<typeof slackConfigSchema>;

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

export type SlackActionInput = z.output<typeof slackActionSchema>;

/**
 * A message Slack can show has `text` or `blocks` (chat.postMessage answers `no_text`
 * otherwise): asked of the action when the rules load, and of the request before it is sent.
 */
export function hasContent(message: { text?: unknown; blocks?: unknown }): boolean {
  return message.text !== undefined || message.blocks !== undefined;
}

/** A rendered Slack action: `delivery.planned.request`, and what the sender reads back. */
export const slackRequestSchema = z
  .object({
    channel: z.string().min(1),
    text: z.string().optional(),
    blocks: z.array(z.unknown()).optional(),
    thread_key: z.string().optional(),
    replace: z.boolean().optional(),
    broadcast: z.boolean().optional(),
  })
  .refine(hasContent, 'a message needs text or blocks');

export type SlackRequest = z.output<typeof slackRequestSchema>;
