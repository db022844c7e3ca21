import { ErrorCode, WebClient } from '@slack/web-api';
import { z } from 'zod';
import { DEFAULTS } from '../../config/defaults.js';
import { supersededReason } from '../../delivery/call-stage.js';
import { classifyNetworkError, classifySlackError, classifyStatus, failed, parseRetryAfter, succeeded } from '../classify.js';
import { guarded } from '../guard.js';
import { redactorFor } from '../redact.js';
import { headerProblem } from '../request-shape.js';
import type { AttemptContext, AttemptOutcome, PooledSink } from '../types.js';
import { slackRequestSchema, type SlackRequest, type SlackSinkConfig } from './schema.js';
import { wellFormedText } from '../../log/text.js';
import { clientFor, createSlackWire, noAttemptFetch, type SlackResponse } from './wire.js';

/**
 * Slack sink: one `chat.postMessage` (or `chat.update` for a live card) per attempt, and a
 * second `chat.postMessage` when the card or thread it points at was deleted (the message is
 * posted afresh and becomes the key's). A live card edit of an earlier stage of the call than
 * the card shows is skipped (see `call-stage.ts`). The SDK's own retries and rate-limit waits
 * are off, so every attempt is in the log. Its requests go over the sink's own keep-alive pool
 * (`wire.ts`), not built-in fetch.
 */

export interface SlackSinkOptions {
  slackApiUrl: string;
  /** Clock for Retry-After dates. (Default: Date.now) */
  now?: () => number;
}

const keyStateSchema = z.object({ channel: z.string().min(1), ts: z.string().min(1) });

type SlackCall =
  | { method: 'chat.postMessage'; args: Record<string, unknown> }
  | { method: 'chat.update'; args: Record<string, unknown> };

/**
 * What to call, a pure decision: the first message of a thread key is posted; later ones
 * reply in its thread (in the first message's channel, by id), or with `replace` edit it.
 */
export function planSlackCall(request: SlackRequest, keyState: unknown): SlackCall {
  const content: Record<string, unknown> = {};
  if (request.text !== undefined) content.text = request.text;
  if (request.blocks !== undefined) content.blocks = request.blocks;
  const first = request.thread_key ? keyStateSchema.safeParse(keyState) : undefined;
  if (!first?.success) {
    return { method: 'chat.postMessage', args: { channel: request.channel, ...content } };
  }
  const { channel, ts } = first.data;
  if (request.replace) return { method: 'chat.update', args: { channel, ts, ...content } };
  const reply: Record<string, unknown> = { channel, thread_ts: ts, ...content };
  if (request.broadcast !== undefined) reply.reply_broadcast = request.broadcast;
  return { method: 'chat.postMessage', args: reply };
}

/**
 * Slack's answers when the message a key points at is gone (someone deleted the card or the
 * thread's first message): `chat.update` answers `message_not_found`; a reply to a parent
 * deleted without replies `invalid_thread_ts` (or `thread_not_found`).
 */
const GONE = new Set(['message_not_found', 'invalid_thread_ts', 'thread_not_found']);

/**
 * A Slack sink from its declaration. Its requests go over a keep-alive pool of its own
 * (`wire.ts`) of at most `concurrency` sockets (Default: 4); one timer per request, the sink's
 * `timeout_ms` (Default: 10 s), ends it. Throws if `token` is missing.
 */
export function createSlackSink(name: string, config: SlackSinkConfig, options: SlackSinkOptions): PooledSink {
  if (!config.token) throw new Error(`sink "${name}": options.token required`);
  const now = options.now ?? Date.now;
  const timeout = config.timeout_ms ?? DEFAULTS.delivery.timeoutMs;
  // the token goes in the Authorization header: one the HTTP client cannot send is refused here, not retried
  const tokenProblem = headerProblem('Authorization', config.token, `sink "${name}" token`);
  const wire = createSlackWire(options.slackApiUrl, { maxSockets: config.concurrency ?? DEFAULTS.delivery.concurrency });
  // one client for the sink (building one binds every API method); each attempt sees it through
  // its own fetch (`clientFor`). The wire's timer ends a request: the SDK's own timeout is off.
  const shared = new WebClient(config.token, {
    slackApiUrl: options.slackApiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 0,
    maxRequestConcurrency: Infinity,
    fetch: noAttemptFetch,
    logger: silentLogger,
  });

  async function send(raw: Record<string, unknown>, ctx: AttemptContext): Promise<AttemptOutcome> {
    if (tokenProblem) return failed({ kind: 'permanent', code: 'invalid_request', message: tokenProblem });
    const erase = erasureTarget(raw);
    const parsed = erase ? null : slackRequestSchema.safeParse(raw);
    if (parsed && !parsed.success) {
      return failed({ kind: 'permanent', code: 'invalid_request', message: `invalid Slack request: ${z.prettifyError(parsed.error)}` });
    }
    const call: SlackCall = erase ? { method: 'chat.delete', args: erase } as unknown as SlackCall : planSlackCall(parsed!.data, ctx.keyState);
    // a live card shows the furthest stage of the call: a late earlier event does not take it back
    const superseded = call.method === 'chat.update' ? supersededReason(ctx.eventType, ctx.keyState) : null;
    if (superseded) return succeeded({ skipped: superseded });

    // This attempt's fetch remembers its last response, so a 429's Retry-After in any form
    // (the SDK only reads whole seconds) and the status reach us; it carries the attempt's signal.
    let last: SlackResponse | undefined;
    const client = clientFor(shared, wire.fetchFor({ timeoutMs: timeout, seen: (response) => (last = response), ...(ctx.signal && { signal: ctx.signal }) }));

    const make = async (c: SlackCall): Promise<Record<string, unknown>> => {
      const result = (await client.apiCall(c.method, wellFormed(c.args))) as { channel?: string; ts?: string };
      const out: Record<string, unknown> = { channel: result.channel, ts: result.ts };
      if (c.method === 'chat.postMessage' && c.args.thread_ts) out.thread_ts = c.args.thread_ts;
      return out;
    };
    try {
      return succeeded(await make(call));
    } catch (err) {
      const gone = platformError(err);
      if (erase && gone === 'message_not_found') return succeeded({ skipped: 'message_not_found' }); // deleted already
      if (gone === undefined || !GONE.has(gone) || (call.method === 'chat.postMessage' && !call.args.thread_ts)) {
        return classifySlackFailure(err, last, now());
      }
      // the card or thread was deleted: post afresh; the key follows the new message (`restarted`)
      try {
        return succeeded({ ...(await make(planSlackCall(parsed!.data, null))), restarted: gone });
      } catch (again) {
        return classifySlackFailure(again, last, now());
      }
    }
  }

  return { ...guarded({ name, type: config.type, send }, redactorFor(slackSecrets(config))), close: () => wire.close() };
}

/**
 * The call's string arguments with each unpaired surrogate (a `"\ud800"` in an event's JSON,
 * rendered into text or a channel) as U+FFFD, as any UTF-8 encoder writes it: the SDK
 * form-encodes them with encodeURIComponent, which throws URIError on one instead (it was
 * classified as a network error and retried for hours). Blocks go as JSON, which escapes it.
 */
function wellFormed(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, typeof v === 'string' ? wellFormedText(v) : v]));
}

/** The message an `erase --downstream` delivery deletes (`{erase: {channel, ts}}`), or null for any other request. */
function erasureTarget(raw: Record<string, unknown>): { channel: string; ts: string } | null {
  const erase = raw['erase'] as Record<string, unknown> | undefined;
  return erase && typeof erase['channel'] === 'string' && typeof erase['ts'] === 'string' ? { channel: erase['channel'], ts: erase['ts'] } : null;
}

/** The bot token: the one secret of a Slack sink. */
export function slackSecrets(config: SlackSinkConfig): string[] {
  return [config.token];
}

/** Slack's `error` of an `ok:false` answer (`unknown_error` when it gives none, or an empty or blank one), or undefined for any other failure. */
function platformError(err: unknown): string | undefined {
  if ((err as { code?: unknown }).code !== ErrorCode.PlatformError) return undefined;
  const error = (err as { data?: { error?: unknown } }).data?.error;
  return typeof error === 'string' && error.trim() !== '' ? error : 'unknown_error';
}

function classifySlackFailure(err: unknown, last: SlackResponse | undefined, now: number): AttemptOutcome {
  const code = (err as { code?: unknown }).code;
  const retryAfter = last?.headers.get('retry-after');
  const platform = platformError(err);
  if (platform !== undefined) {
    return classifySlackError(platform, parseRetryAfter(retryAfter, now));
  }
  if (code === ErrorCode.RateLimitedError || code === ErrorCode.HTTPError || last?.status === 429) {
    // The SDK throws a plain Error for a 429 without a readable Retry-After: the status decides.
    const status = (err as { statusCode?: number }).statusCode ?? last?.status ?? 429;
    return classifyStatus(status, retryAfter, now);
  }
  return classifyNetworkError(err);
}

/** The SDK logs warnings with request details on failures; the outcome says it all. */
const silentLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => 'error' as never,
  setName: () => {},
};
