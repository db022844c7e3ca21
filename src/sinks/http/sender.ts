import { z } from 'zod';
import { DEFAULTS } from '../../config/defaults.js';
import { classifyNetworkError, classifyStatus, failed, succeeded } from '../classify.js';
import { guarded } from '../guard.js';
import { redactorFor } from '../redact.js';
import { headersProblem, methodProblem, urlProblem } from '../request-shape.js';
import type { AttemptContext, AttemptOutcome, Sink } from '../types.js';
import { httpRequestSchema, type HttpSinkConfig } from './schema.js';
import { webhookHeaders } from './sign-webhook.js';

/**
 * HTTP sink: one signed JSON request per attempt with built-in fetch. Receivers dedupe by
 * `webhook-id` (the delivery id), which stays the same across attempts.
 */

export interface HttpSinkOptions {
  /** Clock for `webhook-timestamp`. (Default: Date.now) */
  now?: () => number;
}

export function createHttpSink(name: string, config: HttpSinkConfig, options: HttpSinkOptions = {}): Sink {
  if (!config.url) throw new Error(`sink "${name}": options.url required`);
  const now = options.now ?? Date.now;
  const timeout = config.timeout_ms ?? DEFAULTS.delivery.timeoutMs;
  const redactor = redactorFor(httpSecrets(config));
  // what the sink itself declares cannot change between attempts: checked once
  const sinkProblem = urlProblem(config.url, `sink "${name}" url`) ?? headersProblem(config.headers ?? {}, `sink "${name}" headers`);

  async function send(raw: Record<string, unknown>, ctx: AttemptContext): Promise<AttemptOutcome> {
    const parsed = httpRequestSchema.safeParse(raw);
    if (!parsed.success) return invalid(`invalid HTTP request: ${z.prettifyError(parsed.error)}`);
    const method = parsed.data.method.toUpperCase();
    const problem = sinkProblem ?? methodProblem(method) ?? headersProblem(parsed.data.headers, "the rule's headers");
    if (problem) return invalid(problem);
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
      // secrets are masked in the whole answer first, then it is cut: never the other way round
      const detail = redactor.excerpt(await readStart(response, DEFAULTS.errors.bodyReadBytes));
      return classifyStatus(response.status, response.headers.get('retry-after'), now(), detail);
    } catch (err) {
      return classifyNetworkError(err, timer.aborted);
    }
  }

  return guarded({ name, type: config.type, send }, redactor);
}

/** Sink headers that carry no credential: not treated as secrets (masking `application/json` helps nobody). */
const PLAIN_HEADERS = new Set(['content-type', 'accept', 'user-agent']);

/**
 * Everything secret in an HTTP sink's declaration: the signing secret, header values, and
 * what a URL can carry (a password, query values, long path segments such as the token in an
 * incoming-webhook URL).
 */
export function httpSecrets(config: HttpSinkConfig): string[] {
  const headers = Object.entries(config.headers ?? {}).filter(([name]) => !PLAIN_HEADERS.has(name.toLowerCase()));
  return [config.secret ?? '', ...headers.map(([, value]) => value), ...urlSecrets(config.url)];
}

function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const path = u.pathname.split('/').filter((segment) => segment.length >= 16);
    return [decodeURIComponent(u.password), ...u.searchParams.values(), ...path];
  } catch {
    return [];
  }
}

function invalid(message: string): AttemptOutcome {
  return failed({ kind: 'permanent', code: 'invalid_request', message });
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The first `max` bytes of a body as text (a huge error page is not read whole); '' if it cannot be read. */
async function readStart(response: Response, max: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let read = 0;
  try {
    while (read < max) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = value.subarray(0, max - read);
      read += chunk.length;
      text += decoder.decode(chunk, { stream: true });
    }
    return text + decoder.decode();
  } catch {
    return text;
  } finally {
    await reader.cancel().catch(() => {});
  }
}
