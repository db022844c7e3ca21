import type { FetchFunction, WebClient } from '@slack/web-api';
import { baseUrlProblem } from '../../config/env-values.js';
import { createTransport, type Transport, type TransportResponse } from '../http/transport.js';

/**
 * The Slack sink's wire: the SDK's `fetch` option, sent over the HTTP sink's transport (one
 * bounded node:http / node:https keep-alive pool per sink) instead of built-in fetch, and
 * answered with the few members of a `Response` that `WebClient` 8.2 reads (README
 * "Performance"). What fetch gave the SDK is kept: redirects are refused (the SDK asks
 * `redirect: 'error'`), certificates are verified (node's defaults), the whole body is read.
 */

/** What the SDK reads of an answer (`status`, `headers.get`, `text()`, …): `@slack/web-api`'s own `FetchResponse`. */
export type SlackResponse = Awaited<ReturnType<FetchFunction>>;

/**
 * Bytes of a Slack answer read at most (1 MiB). A `chat.*` answer is a few KB; past the cap the
 * attempt fails as a transient network error (`ResponseTooLargeError`), as a cut answer would.
 */
export const SLACK_BODY_CAP = 1024 * 1024;

/** One attempt as the wire sends it. */
export interface SlackAttempt {
  /** Ends the attempt's request at once (relay shutting down): it rejects with an AbortError. */
  signal?: AbortSignal;
  /** One timer per request, for connect, send and the whole answer (ms); past it a `RequestTimeoutError`. */
  timeoutMs: number;
  /** Told of each answer as it arrives, before the SDK reads it: a 429's Retry-After in any form, and its status. */
  seen(response: SlackResponse): void;
}

export interface SlackWire {
  /** The `fetch` for one attempt's requests. It rejects a URL off `slackApiUrl` and a binary (FormData) body. */
  fetchFor(attempt: SlackAttempt): FetchFunction;
  /** Closes the pool (the transport's `close`): idle sockets now, busy ones when their request ends. */
  close(): void;
  /** Sockets in the pool, open and idle. */
  sockets(): { active: number; idle: number };
}

/**
 * The wire to `slackApiUrl` (http: or https:), with at most `maxSockets` connections (size it
 * from the sink's `concurrency`). `serve` refuses to start with a `SLACK_API_URL` that is not an
 * absolute http(s) URL (`resolveConfig`); one given by code (`startRelay`'s `sinkEnv`) throws
 * nothing here: every request of the wire rejects with a TypeError coded `ERR_INVALID_URL`, so
 * each attempt fails as a permanent `invalid_request` that names it (`baseUrlProblem`), instead
 * of the sink (and the rules with it) failing to load.
 */
export function createSlackWire(slackApiUrl: string, options: { maxSockets: number }): SlackWire {
  // the SDK calls `${slackApiUrl}${method}`, with a `/` added to slackApiUrl if it has none
  const prefix = slackApiUrl.endsWith('/') ? slackApiUrl : `${slackApiUrl}/`;
  const problem = baseUrlProblem('SLACK_API_URL', slackApiUrl);
  if (problem) return unusableWire(problem);
  const basePath = new URL(prefix).pathname;
  const transport: Transport = createTransport(prefix, { maxSockets: options.maxSockets });

  const fetchFor = (attempt: SlackAttempt): FetchFunction => async (url, init = {}) => {
    const href = typeof url === 'string' ? url : url.href;
    if (!href.startsWith(prefix)) throw new TypeError(`not a Slack API method URL under ${prefix}`);
    if (init.body !== undefined && typeof init.body !== 'string') throw new TypeError('binary (FormData) bodies are not sent by the Slack sink');
    const signal = init.signal && attempt.signal ? AbortSignal.any([init.signal, attempt.signal]) : (init.signal ?? attempt.signal);
    const answer = await transport.send({
      method: init.method ?? 'POST',
      path: basePath + href.slice(prefix.length),
      headers: init.headers ?? {},
      body: init.body ?? '',
      timeoutMs: attempt.timeoutMs,
      bodyCap: SLACK_BODY_CAP,
      whole: true,
      wantsBody: () => true,
      ...(signal && { signal }),
    });
    // fetch with `redirect: 'error'` fails the request on a 3xx (the SDK's: a network error)
    if (init.redirect === 'error' && answer.status >= 300 && answer.status < 400) {
      throw new TypeError(`unexpected redirect (HTTP ${answer.status}), not followed`);
    }
    const response = slackResponse(href, answer);
    attempt.seen(response);
    return response;
  };

  return { fetchFor, close: () => transport.close(), sockets: () => transport.sockets() };
}

/** A wire whose every request rejects with `problem` (why `SLACK_API_URL` is no base URL), coded as the HTTP client codes a bad URL. */
function unusableWire(problem: string): SlackWire {
  const refused = () => Object.assign(new TypeError(problem), { code: 'ERR_INVALID_URL' });
  return { fetchFor: () => () => Promise.reject(refused()), close: () => {}, sockets: () => ({ active: 0, idle: 0 }) };
}

/** An answer as the SDK reads it: a few closures over what the transport read, not a WHATWG `Response` (its streams cost more than the request). */
function slackResponse(url: string, answer: TransportResponse): SlackResponse {
  return {
    ok: answer.status >= 200 && answer.status < 300,
    status: answer.status,
    statusText: answer.statusText,
    url,
    headers: { get: (name) => answer.header(name.toLowerCase()) ?? null, entries: () => answer.entries() },
    text: () => Promise.resolve(answer.body),
    json: () => Promise.resolve().then(() => JSON.parse(answer.body) as unknown),
    arrayBuffer: () => Promise.resolve(new TextEncoder().encode(answer.body).buffer),
  };
}

/**
 * The sink's one client seen through one attempt's `fetch`: an object whose prototype is
 * `client`, with its own `fetchFn` (the field `WebClient` 8.2 calls for every request, read
 * through `this`). Building a `WebClient` binds every API method (about 50 µs a client);
 * this is one property. The sink's client itself has a `fetch` that throws, so an SDK that
 * stopped reading `this.fetchFn` fails every attempt loudly instead of losing the signal and
 * the last answer.
 */
export function clientFor(client: WebClient, fetchFn: FetchFunction): WebClient {
  return Object.create(client, { fetchFn: { value: fetchFn } }) as WebClient;
}

/** The `fetch` of the sink's own client: never called while each attempt has its own (`clientFor`). */
export const noAttemptFetch: FetchFunction = () => Promise.reject(new Error('the Slack client was called outside an attempt'));
