import type { DeliveryError } from '../log/types.js';
import type { AttemptOutcome } from './types.js';

/**
 * Pure classification of one attempt's result into README "Delivery"'s outcome classes. The sinks are
 * thin shells around these: they catch what the SDK or fetch threw and hand it here.
 */

export type FailedOutcome = Extract<AttemptOutcome, { outcome: 'failed' }>;

export function succeeded(result: Record<string, unknown> | null): AttemptOutcome {
  return { outcome: 'succeeded', result };
}

export function failed(error: DeliveryError, retryAfterMs?: number): FailedOutcome {
  return retryAfterMs === undefined ? { outcome: 'failed', error } : { outcome: 'failed', error, retry_after_ms: retryAfterMs };
}

/**
 * `Retry-After` in ms: delta-seconds (`"2"`, `"1.5"`) or an HTTP date, relative to `now`.
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Date.parse alone is lenient (it reads "-3" as a year): an HTTP date names its month.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  // an HTTP date is GMT; its obsolete asctime form (`Thu Jan  1 00:00:31 2026`, which receivers
  // must accept, RFC 9110 §5.6.7) writes no zone, and Date.parse would read it in the host's
  const date = Date.parse(/\b(GMT|UTC)\b|[+-]\d{4}$/i.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A non-2xx HTTP answer: 429 → rate_limited, 408 and 5xx → transient, any other → permanent. */
export function classifyStatus(status: number, retryAfter: string | null | undefined, now: number, detail?: string): FailedOutcome {
  const code = status === 401 ? 'unauthorized' : `http_${status}`;
  const message = `HTTP ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 429) {
    return failed({ kind: 'rate_limited', code, message, status }, parseRetryAfter(retryAfter, now));
  }
  if (status === 408 || status >= 500) {
    // a 503 may say when to come back; the backoff never goes below it (README "Delivery")
    return failed({ kind: 'transient', code, message, status }, parseRetryAfter(retryAfter, now));
  }
  return failed({ kind: 'permanent', code, message, status });
}

/** Slack `ok:false` codes worth another attempt; every other Slack error is permanent. */
const SLACK_TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_not_ready']);

/** A Slack platform error (`ok:false`). `ratelimited` in the body counts as a 429. */
export function classifySlackError(code: string, retryAfterMs?: number): FailedOutcome {
  const message = `Slack answered ok:false, error "${code}"`;
  if (code === 'ratelimited') return failed({ kind: 'rate_limited', code, message }, retryAfterMs);
  return failed({ kind: SLACK_TRANSIENT.has(code) ? 'transient' : 'permanent', code, message });
}

/** Socket-level error codes (node, undici, node-fetch) → our short codes. */
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'econnrefused',
  ECONNRESET: 'econnreset',
  EPIPE: 'econnreset',
  UND_ERR_SOCKET: 'econnreset',
  UND_ERR_CLOSED: 'econnreset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  EHOSTUNREACH: 'ehostunreach',
  ENETUNREACH: 'enetunreach',
};

/**
 * An error thrown while sending (no HTTP answer): every network failure and timeout is
 * transient. Walks `cause` / `original` chains, as fetch (`TypeError: fetch failed`) and the
 * SDKs wrap the socket error. `timedOut` says the sink's own timer fired (it aborted the request).
 */
export function classifyNetworkError(err: unknown, timedOut = false): FailedOutcome {
  if (timedOut || chain(err).some((e) => e.name === 'TimeoutError')) {
    return failed({ kind: 'transient', code: 'timeout', message: 'request timed out' });
  }
  for (const e of chain(err)) {
    const mapped = typeof e.code === 'string' ? NETWORK_CODES[e.code] : undefined;
    if (mapped) return failed({ kind: 'transient', code: mapped, message: `network error: ${e.code}` });
  }
  const refused = chain(err).find(isRefusal);
  if (refused) {
    return failed({ kind: 'permanent', code: 'invalid_request', message: `the HTTP client refused the request before sending it: ${refused.message}` });
  }
  if (chain(err).some((e) => e.name === 'AbortError')) {
    return failed({ kind: 'transient', code: 'aborted', message: 'request aborted (relay shutting down)' });
  }
  const first = chain(err)[0];
  const what = first ? `${first.name}${typeof first.code === 'string' ? ` ${first.code}` : ''}` : String(err);
  return failed({ kind: 'transient', code: 'network_error', message: `request failed: ${what}` });
}

/**
 * Codes of a request refused before it was sent (undici, node:http, node-fetch): the same
 * request can never go out, so retrying cannot help. `request-shape.ts` catches the known
 * cases first, with a better message; this catches the rest.
 */
const REFUSED_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_INVALID_URL',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_INVALID_CHAR',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
  'ERR_INVALID_PROTOCOL',
]);
/** The same refusals as fetch and node-fetch word them (they throw a plain TypeError without a code). */
const REFUSED_MESSAGES = /invalid header (name|value)|ByteString|HTTP method|cannot have body|includes credentials|Failed to parse URL|not a legal HTTP header|unknown scheme/i;

function isRefusal(e: ErrorLike): boolean {
  return (typeof e.code === 'string' && REFUSED_CODES.has(e.code)) || REFUSED_MESSAGES.test(e.message);
}

interface ErrorLike {
  name: string;
  code?: unknown;
  message: string;
}

function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let current: unknown = err;
  while (current && typeof current === 'object' && out.length < 8) {
    const e = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; original?: unknown };
    out.push({ name: typeof e.name === 'string' ? e.name : 'Error', code: e.code, message: typeof e.message === 'string' ? e.message : '' });
    current = e.cause ?? e.original;
  }
  return out;
}
