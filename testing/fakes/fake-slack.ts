import { blockKitErrors, messageTooLong } from './slack-block-kit.js';
import { startFakeServer, type FakeControls, type RecordedRequest, type Reply } from './fake-server.js';

/**
 * A fake Slack Web API for `@slack/web-api` (point `slackApiUrl` at `url`). Implements
 * `chat.postMessage`, `chat.update` and `chat.delete` with an in-memory list of messages; any
 * other method answers `{ok:true}`. Channel names get stable ids (`#sales` → `C0000001`), as
 * Slack answers with the id.
 *
 * Deleted messages (`chat.delete`, or `deleteMessage` as a person in Slack would) answer as
 * Slack does: `chat.update` and `chat.delete` of one give `message_not_found`; a message with
 * replies stays as a tombstone its thread can still reply to, one without is gone and a reply
 * to it gives `invalid_thread_ts`.
 * A message over Slack's documented limits (its own table, `slack-block-kit.ts`, written from
 * Slack's docs) is refused as Slack does: `msg_too_long` for message text, `invalid_blocks`
 * (with `errors` naming each field by JSON pointer) for blocks.
 *
 * Tokens: with `token` or `tokens`, any other bearer token answers `invalid_auth`; `revoke`
 * makes a token answer `token_revoked` (or another error) until `restore`, as Slack answers a
 * token an admin revoked.
 *
 *   const slack = await startFakeSlack();
 *   slack.failNext({ status: 429, retryAfter: 2 });
 *   slack.failNext({ slackError: 'channel_not_found' }, { path: 'chat.postMessage' });
 *   await slack.close();
 */

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown;
  thread_ts?: string;
  reply_broadcast?: boolean;
  /** How many times `chat.update` changed it. */
  edits: number;
  /** Deleted while it had replies: Slack shows "This message was deleted." in its place. */
  deleted?: true;
  /** Its content as posted, then after each edit (oldest first). */
  versions: { text?: string; blocks?: unknown }[];
}

export interface FakeSlack extends FakeControls {
  /** Base for `slackApiUrl`, ending in `/api/`. */
  readonly url: string;
  /** Every request received, in order; `body` holds the form fields as sent (blocks as a JSON string). */
  readonly requests: FakeControls['requests'];
  /** Messages as they are now (edits applied), in posting order. */
  readonly messages: FakeSlackMessage[];
  /** Channel name or id → id. */
  channelId(name: string): string;
  /** Id → the name it was first posted to (`#sales`), or the id itself. */
  channelName(id: string): string;
  /** Deletes a message as someone in Slack would (channel name or id). False if there is none. */
  deleteMessage(channel: string, ts: string): boolean;
  /** From now on `token` is refused with `error` (default `token_revoked`), as Slack refuses a revoked token. */
  revoke(token: string, error?: string): void;
  /** `token` works again (and is accepted from now on, if tokens are checked). */
  restore(token: string): void;
}

export interface FakeSlackOptions {
  /** When set, any other bearer token answers `invalid_auth`. */
  token?: string;
  /** Several accepted tokens (with `token`, if both are given). */
  tokens?: string[];
  /** Keep every request in `requests`. (Default: true) */
  record?: boolean;
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const messages: FakeSlackMessage[] = [];
  const channels = new Map<string, string>();
  let clock = 0;

  const channelId = (name: string): string => {
    if (/^[CDG][A-Z0-9]{6,}$/.test(name)) return name;
    let id = channels.get(name);
    if (!id) {
      id = `C${String(channels.size + 1).padStart(7, '0')}`;
      channels.set(name, id);
    }
    return id;
  };

  /** `channel id/ts` of messages deleted without replies: gone for good. */
  const gone = new Set<string>();
  const live = (channel: string, ts: unknown) => messages.find((m) => m.ts === ts && m.channel === channel && !m.deleted);
  const remove = (channel: string, ts: unknown): boolean => {
    const message = live(channel, ts);
    if (!message) return false;
    if (messages.some((m) => m.thread_ts === message.ts && m.channel === channel)) {
      Object.assign(message, { deleted: true, text: 'This message was deleted.', blocks: undefined });
    } else {
      messages.splice(messages.indexOf(message), 1);
      gone.add(`${channel}/${message.ts}`);
    }
    return true;
  };

  const accepted = new Set([...(options.token ? [options.token] : []), ...(options.tokens ?? [])]);
  /** Revoked tokens and the error each answers. */
  const revoked = new Map<string, string>();

  const handler = (req: RecordedRequest): Reply => {
    const method = req.path.replace(/^\/api\//, '');
    const bearer = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    const refusal = revoked.get(bearer);
    if (refusal) return platformError(refusal);
    if (accepted.size > 0 && !accepted.has(bearer)) return platformError('invalid_auth');
    const args = decodeArgs(req.body);
    if (method === 'chat.postMessage' || method === 'chat.update') {
      const refused = overLimits(args);
      if (refused) return refused;
    }
    if (method === 'chat.postMessage') {
      if (!args.channel) return platformError('channel_not_found');
      const channel = channelId(String(args.channel));
      if (args.text === undefined && args.blocks === undefined) return platformError('no_text');
      if (args.thread_ts !== undefined && gone.has(`${channel}/${String(args.thread_ts)}`)) return platformError('invalid_thread_ts');
      clock += 1;
      const message: FakeSlackMessage = {
        channel,
        ts: `${1_700_000_000 + clock}.${String(clock).padStart(6, '0')}`,
        edits: 0,
        versions: [pick(args, ['text', 'blocks'])],
        ...pick(args, ['text', 'blocks', 'thread_ts']),
        ...(args.reply_broadcast !== undefined ? { reply_broadcast: args.reply_broadcast === 'true' } : {}),
      };
      messages.push(message);
      return ok({ channel, ts: message.ts, message: { text: message.text ?? '' } });
    }
    if (method === 'chat.update') {
      const message = live(channelId(String(args.channel)), args.ts);
      if (!message) return platformError('message_not_found');
      Object.assign(message, pick(args, ['text', 'blocks']));
      message.edits += 1;
      message.versions.push(pick(args, ['text', 'blocks']));
      return ok({ channel: message.channel, ts: message.ts, text: message.text ?? '' });
    }
    if (method === 'chat.delete') {
      const channel = channelId(String(args.channel));
      return remove(channel, args.ts) ? ok({ channel, ts: args.ts }) : platformError('message_not_found');
    }
    return ok({});
  };

  const server = await startFakeServer(handler, { record: options.record });
  return {
    url: `${server.origin}/api/`,
    requests: server.requests,
    messages,
    channelId,
    channelName: (id) => [...channels].find(([, known]) => known === id)?.[0] ?? id,
    deleteMessage: (channel, ts) => remove(channelId(channel), ts),
    revoke: (token, error = 'token_revoked') => void revoked.set(token, error),
    restore(token) {
      revoked.delete(token);
      if (accepted.size > 0) accepted.add(token);
    },
    failNext: (fault, faultOptions) => server.failNext(fault, faultOptions),
    chaos: (pick) => server.chaos(pick),
    reset() {
      server.reset();
      messages.length = 0;
      gone.clear();
      revoked.clear();
    },
    close: () => server.close(),
  };
}

/** The SDK sends form fields; objects (blocks) arrive JSON-encoded. */
function decodeArgs(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object') return {};
  const args: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const key of ['blocks', 'attachments']) {
    if (typeof args[key] === 'string') args[key] = JSON.parse(args[key] as string) as unknown;
  }
  return args;
}

/** Slack's answer to a message over its limits, measured on what was received; null if within. */
function overLimits(args: Record<string, unknown>): Reply | null {
  if (messageTooLong(args.text)) return platformError('msg_too_long');
  const errors = blockKitErrors(args.blocks);
  return errors.length === 0 ? null : { status: 200, body: { ok: false, error: 'invalid_blocks', errors } };
}

function pick(args: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => args[k] !== undefined).map((k) => [k, args[k]]));
}

function ok(body: Record<string, unknown>): Reply {
  return { status: 200, body: { ok: true, ...body } };
}

function platformError(error: string): Reply {
  return { status: 200, body: { ok: false, error } };
}
