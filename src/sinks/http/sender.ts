import { z } from 'zod';
import { DEFAULTS } from '../../config/defaults.js';
import { packageVersion } from '../../config/resolve.js';
import { classifyNetworkError, classifyStatus, failed, succeeded } from '../classify.js';
import { guarded } from '../guard.js';
import { redactorFor } from '../redact.js';
import { headersProblem, methodProblem, urlProblem } from '../request-shape.js';
import type { AttemptContext, AttemptOutcome, PooledSink } from '../types.js';
import { httpRequestSchema, type HttpSinkConfig } from './schema.js';
import { webhookHeaders } from './sign-webhook.js';
import { createTransport, RequestTimeoutError } from './transport.js';

/**
 * HTTP sink: one signed JSON request per attempt over the sink's own keep-alive pool
 * (`transport.ts`). Receivers dedupe by `webhook-id` (the delivery id), which stays the same
 * across attempts.
 */

export interface HttpSinkOptions {
  /** Clock for `webhook-timestamp`. (Default: Date.now) */
  now?: () => number;
}

/**
 * An HTTP sink from its declaration. Its pool holds at most `concurrency` sockets (Default: 4),
 * kept open between deliveries. Throws if `url` is missing.
 */
export function createHttpSink(name: string, config: HttpSinkConfig, options: HttpSinkOptions = {}): PooledSink {
  if (!config.url) throw new Error(`sink "${name}": options.url required`);
  const now = options.now ?? Date.now;
  const timeout = config.timeout_ms ?? DEFAULTS.delivery.timeoutMs;
  const transport = createTransport(config.url, { maxSockets: config.concurrency ?? DEFAULTS.delivery.concurrency });
  // what fetch sent unasked; some receivers' firewalls turn away a request without a user-agent
  const defaults = { accept: '*/*', 'user-agent': `husky-relay/${packageVersion()}` };
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
    const body = hasBody ? (parsed.data.body_text ?? JSON.stringify(parsed.data.body ?? null)) : '';
    // Sink headers (operator's, may hold credentials) win over the rule's; signing headers win over both.
    const headers = {
      ...defaults,
      'content-type': 'application/json',
      ...lower(parsed.data.headers),
      ...lower(config.headers ?? {}),
      ...webhookHeaders(config.secret, ctx.deliveryId, Math.floor(now() / 1000), body),
    };
    try {
      // a 3xx is an answer like any other: redirects are not followed
      const response = await transport.send({
        method,
        headers,
        body,
        timeoutMs: timeout,
        bodyCap: DEFAULTS.errors.bodyReadBytes,
        wantsBody: (status) => status < 200 || status >= 300,
        ...(ctx.signal && { signal: ctx.signal }),
      });
      if (response.status >= 200 && response.status < 300) return succeeded({ status: response.status });
      // secrets are masked in the whole answer first, then it is cut: never the other way round
      const detail = redactor.excerpt(response.body);
      return classifyStatus(response.status, response.header('retry-after') ?? null, now(), detail);
    } catch (err) {
      return classifyNetworkError(err, err instanceof RequestTimeoutError);
    }
  }

  return { ...guarded({ name, type: config.type, send }, redactor), close: () => transport.close() };
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
