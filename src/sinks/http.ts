import { z } from 'zod';
import { classifyNetworkError, classifyStatus, failed, redactOutcome, succeeded } from './classify.js';
import { webhookHeaders } from './sign-webhook.js';
import type { AttemptContext, AttemptOutcome, HttpSinkConfig, Sink } from './types.js';

/**
 * HTTP sink: one signed JSON request per attempt with built-in fetch. Receivers dedupe by
 * `webhook-id` (the delivery id), which stays the same across attempts.
 */

export interface HttpSinkOptions {
  /** Clock for `webhook-timestamp`. (Default: Date.now) */
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** How much of a failed answer's body goes into the error message. */
const DETAIL_CHARS = 200;

const requestSchema = z.object({
  method: z.string().min(1).default('POST'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.unknown(),
});

export function createHttpSink(name: string, config: HttpSinkConfig, options: HttpSinkOptions = {}): Sink {
  if (!config.url) throw new Error(`sink "${name}": options.url required`);
  const now = options.now ?? Date.now;
  const timeout = config.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  const secrets = [config.secret, ...Object.values(config.headers ?? {})];

  async function send(raw: Record<string, unknown>, ctx: AttemptContext): Promise<AttemptOutcome> {
    const parsed = requestSchema.safeParse(raw);
    if (!parsed.success) {
      return failed({ kind: 'permanent', code: 'invalid_request', message: `invalid HTTP request: ${z.prettifyError(parsed.error)}` });
    }
    const method = parsed.data.method.toUpperCase();
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const body = hasBody ? JSON.stringify(parsed.data.body ?? null) : '';
    // Sink headers (operator's, may hold credentials) win over the rule's; signing headers win over both.
    const headers = {
      'content-type': 'application/json',
      ...lower(parsed.data.headers),
      ...lower(config.headers ?? {}),
      ...webhookHeaders(config.secret, ctx.deliveryId, Math.floor(now() / 1000), body),
    };
    const timer = AbortSignal.timeout(timeout);
    const signal = ctx.signal ? AbortSignal.any([timer, ctx.signal]) : timer;
    try {
      const response = await fetch(config.url, { method, headers, body: hasBody ? body : undefined, signal, redirect: 'manual' });
      if (response.status >= 200 && response.status < 300) {
        await response.body?.cancel();
        return succeeded({ status: response.status });
      }
      const detail = (await response.text().catch(() => '')).slice(0, DETAIL_CHARS);
      return redactOutcome(classifyStatus(response.status, response.headers.get('retry-after'), now(), detail), secrets);
    } catch (err) {
      return redactOutcome(classifyNetworkError(err, timer.aborted), secrets);
    }
  }

  return { name, type: 'http', send };
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
