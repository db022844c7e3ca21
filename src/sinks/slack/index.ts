import type { YamlPath } from '../../rules/interpolate.js';
import type { CompiledTemplate, TemplateDialect } from '../../rules/liquid.js';
import { renderTree, type TemplateTree } from '../../rules/template-tree.js';
import type { SinkKind } from '../kind.js';
import { checkBearerCredential } from '../request-shape.js';
import { slackMrkdwn } from './escape.js';
import { fitSlackMessage, type SlackLimitProblem } from './fit.js';
import { UnsendableRequestError } from '../kind.js';
import { hasContent, slackActionSchema, slackConfigSchema, slackRequestSchema, type SlackActionInput, type SlackRequest, type SlackSinkConfig } from './schema.js';
import { createSlackSink, slackSecrets } from './sender.js';

/**
 * The Slack kind (README "Sinks"): posts a message, replies in the thread of its
 * `thread_key`, or with `replace` edits the first message of the key (a live card).
 */

/** A Slack action with its templates parsed. */
export interface SlackCompiled {
  channel: CompiledTemplate;
  text?: CompiledTemplate;
  blocks?: TemplateTree;
  thread_key?: CompiledTemplate;
  replace?: boolean;
  broadcast?: boolean;
}

export const slackKind: SinkKind<SlackSinkConfig, SlackActionInput, SlackCompiled, SlackRequest> = {
  type: 'slack',
  configSchema: slackConfigSchema,
  actionSchema: slackActionSchema,
  requestSchema: slackRequestSchema,

  // the token goes in the Authorization header
  checkConfig: checkBearerCredential('token'),

  check(action, report) {
    if (!hasContent(action)) report([], 'a slack action needs "text" or "blocks"');
    if (action.replace === true && action.thread_key === undefined) {
      report(['replace'], '"replace: true" needs a "thread_key" (the message to replace)');
    }
    // what is written out (no template) is measured now: what cannot be cut is an error
    const literal = (value: string) => !/\{\{|\{%/.test(value);
    for (const p of fitSlackMessage({ text: action.text, blocks: action.blocks }, { fit: false, measurable: literal }).problems) {
      report(p.path, p.kind === 'refused' ? refusal(p) : `${p.message}${p.kind === 'cut' ? ': it will be cut to fit' : ''}`, p.kind === 'refused' ? 'error' : 'warning');
    }
  },

  compile(a, t) {
    return {
      channel: t.template(a.channel, ['channel']),
      ...(a.text !== undefined && { text: t.template(a.text, ['text'], slackMrkdwn) }),
      ...(a.blocks !== undefined && { blocks: t.tree(a.blocks, ['blocks'], blockTextDialect) }),
      ...(a.thread_key !== undefined && { thread_key: t.template(a.thread_key, ['thread_key']) }),
      ...(a.replace !== undefined && { replace: a.replace }),
      ...(a.broadcast !== undefined && { broadcast: a.broadcast }),
    };
  },

  // Text is cut to Slack's limits here, after escaping, so the log holds what Slack receives.
  render(action, scope) {
    const thread_key = action.thread_key?.render(scope) || undefined;
    const rendered: SlackRequest = {
      channel: action.channel.render(scope),
      ...(action.text && { text: action.text.render(scope) }),
      ...(action.blocks && { blocks: renderTree(action.blocks, scope) as unknown[] }),
      ...(thread_key !== undefined && { thread_key }),
      ...(action.replace !== undefined && { replace: action.replace }),
      ...(action.broadcast !== undefined && { broadcast: action.broadcast }),
    };
    const fitted = fitSlackMessage(rendered, { fit: true });
    const refused = fitted.problems.filter((p) => p.kind === 'refused');
    if (refused.length > 0) throw new UnsendableRequestError(refused.map((p) => `${p.at}: ${refusal(p)}`).join('; '));
    const warnings = fitted.problems.map((p) => `${p.at}: ${p.message}${p.kind === 'cut' ? ': cut to fit' : ''}`);
    return { request: fitted.request as SlackRequest, order_key: thread_key ?? null, warnings };
  },

  create: (name, config, env, opts) => createSlackSink(name, config, { slackApiUrl: env.slackApiUrl, ...(opts.now && { now: opts.now }) }),
  secrets: slackSecrets,
  // Slack's permalink form: slack.com/archives/CHANNEL/pTS with the ts's dot dropped; slack.com
  // sends a signed-in user on to their workspace
  resultLink: () => ({ label: 'Slack message', href: 'https://slack.com/archives/{channel}/p{ts:digits}' }),
  // the message posted (or the card updated): chat.delete of its ts
  erasure: (result) => (typeof result['channel'] === 'string' && typeof result['ts'] === 'string' ? { erase: { channel: result['channel'], ts: result['ts'] } } : null),
};

/** Why a limit that cannot be cut stops the message (Slack would answer `invalid_blocks`). */
function refusal(p: SlackLimitProblem): string {
  return `${p.message}; Slack would refuse the message (invalid_blocks), and a URL, an id, a value or a list of buttons or options cannot be cut`;
}

/**
 * Block objects whose `text` Slack shows literally (it parses no mrkdwn there): plain_text
 * objects and the `text` and `link` elements of rich_text. Escaping those would show `&lt;`.
 */
const LITERAL_TEXT_TYPES = new Set(['plain_text', 'text', 'link']);

/**
 * In blocks, the `text` of an object is escaped for mrkdwn unless the object's literal `type`
 * is one Slack shows as is; a templated `type` is escaped (data could choose mrkdwn). URLs,
 * ids and other keys are not escaped.
 */
function blockTextDialect(path: YamlPath, parent: unknown): TemplateDialect | undefined {
  if (path[path.length - 1] !== 'text') return undefined;
  const type = parent && typeof parent === 'object' && !Array.isArray(parent) ? (parent as Record<string, unknown>).type : undefined;
  return typeof type === 'string' && LITERAL_TEXT_TYPES.has(type) ? undefined : slackMrkdwn;
}
