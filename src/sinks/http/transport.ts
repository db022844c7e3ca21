import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * The HTTP and Slack sinks' wire: node:http / node:https over one bounded keep-alive pool per
 * sink. About 40% less CPU per delivery than built-in fetch (README "Performance"): no WHATWG
 * streams, no header normalisation twice, sockets reused across deliveries.
 *
 * What it keeps from fetch as the sink used it: redirects are not followed (a 3xx is an
 * answer), certificates are verified (node's defaults), one timer covers connect, request
 * and response headers, an error answer's body is read only up to a byte cap.
 */

export interface TransportOptions {
  /** Sockets open at once to the destination; size it from the sink's concurrency. (Default: 4) */
  maxSockets?: number;
  /** An idle pooled socket is closed after this long, below the 5 s most servers keep one. (Default: 4000 ms) */
  idleMs?: number;
}

/** One request as the sink sends it. `body` is sent with a `content-length`; '' sends none. */
export interface TransportRequest {
  method: string;
  /** Path and query on the transport's origin, starting with `/`. (Default: those of the transport's URL) */
  path?: string;
  headers: Record<string, string>;
  body: string;
  /** Total time for connect, send and the answer's head (and a body it reads: an error body, a `whole` one), in ms. */
  timeoutMs: number;
  /** Bytes of the answer's body kept for an error message; the rest is not read. */
  bodyCap: number;
  /**
   * The body must come whole (Slack's JSON answer): past `bodyCap` the promise rejects with a
   * `ResponseTooLargeError`, and a body cut short rejects with what cut it (the timer, an abort,
   * a reset) instead of resolving with its start. (Default: false)
   */
  whole?: boolean;
  /** Ends the attempt at once (relay shutting down): the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Whether the body of this status is wanted (read up to `bodyCap`); others are drained and dropped. */
  wantsBody: (status: number) => boolean;
}

/** An answer: status, a header lookup (lower-case names), and the start of the body if it was wanted. */
export interface TransportResponse {
  status: number;
  /** The reason phrase (`OK`, `Too Many Requests`), '' if none. */
  statusText: string;
  header(name: string): string | undefined;
  /** Every header as `[lower-case name, value]`, repeated ones joined with `, `. */
  entries(): [string, string][];
  body: string;
}

/**
 * Raised when the request's own timer fired; `classifyNetworkError` reads the name
 * (`TimeoutError`, as `AbortSignal.timeout` names it) and maps it to `timeout`.
 */
export class RequestTimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** Raised for a `whole` body longer than `bodyCap`: the socket that carried it is given up. */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
  constructor(max: number) {
    super(`the answer's body is over ${max} bytes`);
  }
}

export interface Transport {
  /**
   * Sends one request to the transport's URL (or to `path` on its origin). Resolves with any
   * HTTP answer (3xx, 4xx, 5xx included); rejects with the socket error (`code` ECONNREFUSED, ECONNRESET, …), a
   * `RequestTimeoutError`, an AbortError, node's refusal of the request (ERR_INVALID_CHAR, …),
   * or for a `whole` body a `ResponseTooLargeError` or what cut the body short.
   */
  send(req: TransportRequest): Promise<TransportResponse>;
  /**
   * Closes the pool: idle sockets now, sockets in use when their request ends. Requests already
   * sent finish; later ones get a fresh socket each that is not kept. Idempotent.
   */
  close(): void;
  /** Sockets in the pool, open and idle, for tests and status. */
  sockets(): { active: number; idle: number };
}

/** A transport for `url` (http: or https:), with its own keep-alive pool. */
export function createTransport(url: string, options: TransportOptions = {}): Transport {
  const target = new URL(url);
  const https = target.protocol === 'https:';
  const agent = keepAliveAgent(https, options);
  const request = https ? httpsRequest : httpRequest;
  const life = poolLife(agent);
  const ended = life.end;

  function send(req: TransportRequest): Promise<TransportResponse> {
    return new Promise<TransportResponse>((resolve, reject) => {
      const headers: OutgoingHttpHeaders = { ...req.headers };
      // a Buffer, not a string: node writes a string body together with the head in the body's
      // encoding, and a Latin-1 header value would go out as UTF-8
      const body = req.body === '' ? undefined : Buffer.from(req.body);
      if (body) headers['content-length'] = body.length;
      let settled = false;
      const finish = (error: Error | null, response?: TransportResponse) => {
        if (settled) return;
        settled = true;
        req.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(response!);
      };
      // throws (ERR_INVALID_CHAR, …) before anything is sent: the promise rejects with it
      const out = request(target, { method: req.method, headers, agent: life.closed() ? false : agent, ...(req.path !== undefined && { path: req.path }) });
      life.begin();
      // why the exchange was cut, when the transport cut it: a `whole` body cut short rejects with it
      let cutBy: Error | undefined;
      const cut = (error: Error) => out.destroy((cutBy = error));
      const timer = setTimeout(() => cut(new RequestTimeoutError(req.timeoutMs)), req.timeoutMs);
      const onAbort = () => cut(Object.assign(new Error('request aborted'), { name: 'AbortError', code: 'ABORT_ERR' }));
      if (req.signal?.aborted) onAbort();
      else req.signal?.addEventListener('abort', onAbort, { once: true });
      // the timer runs until the exchange is over: a 2xx whose body stalls does not hold a pool socket for ever
      out.once('close', () => {
        clearTimeout(timer);
        ended();
      });
      let answered = false;
      // once the head is in, the answer stands: a cut body (timer, reset) is read as far as it came
      out.on('error', (error) => {
        if (!answered) finish(error);
      });
      out.on('response', (res) => {
        answered = true;
        const header = (name: string) => {
          const value = res.headers[name];
          return Array.isArray(value) ? value.join(', ') : value;
        };
        const entries = () => Object.keys(res.headers).map((name): [string, string] => [name, header(name) ?? '']);
        const answer = (body: string) => finish(null, { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', header, entries, body });
        if (!req.wantsBody(res.statusCode ?? 0)) {
          answer('');
          drain(res, req.bodyCap, out.destroy.bind(out));
          return;
        }
        if (req.whole) {
          readWhole(res, req.bodyCap, () => cutBy).then(answer, (error: Error) => {
            out.destroy();
            finish(error);
          });
          return;
        }
        // the timer still covers the body: a stalled error page ends with what came so far
        void readStart(res, req.bodyCap).then(answer);
      });
      out.end(body);
    });
  }

  return {
    send,
    close: life.close,
    sockets: () => poolSockets(agent),
  };
}

/** The transport's pool (node:https's agent when `https`): keep-alive, bounded, idle sockets closed after `idleMs`. */
export function keepAliveAgent(https: boolean, options: TransportOptions = {}): HttpAgent {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 4, maxFreeSockets: options.maxSockets ?? 4, timeout: options.idleMs ?? 4000, scheduling: 'lifo' as const };
  return https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
}

/**
 * What runs on a pooled agent, and its closing: `close()` (idempotent) destroys the idle sockets
 * at once, and the agent itself once the last `begin()` has its `end()`, so work in flight
 * finishes on its socket.
 */
export function poolLife(agent: HttpAgent): { begin(): void; end(): void; close(): void; closed(): boolean } {
  let running = 0;
  let closed = false;
  return {
    begin: () => void (running += 1),
    end() {
      running -= 1;
      if (closed && running === 0) agent.destroy();
    },
    close() {
      if (closed) return;
      closed = true;
      if (running === 0) agent.destroy();
      else for (const list of Object.values(agent.freeSockets)) for (const socket of list ?? []) socket.destroy();
    },
    closed: () => closed,
  };
}

/** Sockets of an agent, open (carrying a request) and idle. */
export function poolSockets(agent: HttpAgent): { active: number; idle: number } {
  const count = (pool: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(pool).reduce((n, list) => n + (list?.length ?? 0), 0);
  return { active: count(agent.sockets), idle: count(agent.freeSockets) };
}

/**
 * The first `max` bytes of a body as UTF-8 text. Past `max` the socket is given up (a huge
 * error page is not read whole); a body within it is read to its end, so the socket is reused.
 * A body cut short (reset, timeout) gives what came before; never rejects.
 */
function readStart(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let read = 0;
    const done = () => resolve(Buffer.concat(chunks).toString('utf8'));
    res.on('data', (chunk: Buffer) => {
      if (read >= max) return;
      chunks.push(chunk.subarray(0, max - read));
      read += chunk.length;
      if (read >= max) {
        done();
        res.destroy();
      }
    });
    res.once('end', done);
    res.once('close', done);
    res.on('error', () => {});
  });
}

/**
 * A body read to its end as UTF-8 text. Rejects past `max` bytes (`ResponseTooLargeError`), or
 * when the body is cut short: with what the transport cut it for (`cutBy`), else the socket's
 * error, else an ECONNRESET as node names a connection closed mid-body.
 */
function readWhole(res: IncomingMessage, max: number, cutBy: () => Error | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let read = 0;
    let failure: Error | undefined;
    res.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > max) reject(new ResponseTooLargeError(max));
      else chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (error) => (failure ??= error));
    res.once('close', () => {
      if (!res.complete) reject(cutBy() ?? failure ?? Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
  });
}

/** Reads a body nobody needs to its end, so the socket goes back to the pool; past `max` bytes the socket is closed instead. */
function drain(res: IncomingMessage, max: number, destroy: () => void): void {
  let read = 0;
  res.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > max) destroy();
  });
  res.on('error', () => {});
}
