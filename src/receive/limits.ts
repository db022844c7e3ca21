/**
 * Every bound of the HTTP edge, in one place. Each one keeps a kind of client (slow, hostile,
 * or simply too many at once) from holding memory, sockets or the writer without end; what the
 * relay answers past each bound is in the README ("HTTP").
 */

/**
 * How long an idle keep-alive connection stays open: longer than Caddy's 2 minutes and nginx's
 * upstream `keepalive_timeout` of 60 s, so the proxy is the side that closes it. (Default: 125 s)
 */
export const KEEP_ALIVE_MS = 125_000;

/**
 * Time to receive one request, headers and body, from its first byte (from the connection's
 * start for its first request); past it the answer is 408 `request_timeout` and the connection
 * closes. It never applies to an idle keep-alive connection: Node counts it only while a request
 * is being received (see `serve.ts`). (Default: 30 s)
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/** How often Node looks for requests past `REQUEST_TIMEOUT_MS`, so it is exceeded by at most this. (Default: 1 s) */
export const TIMEOUT_CHECK_MS = 1_000;

/**
 * Bytes of request bodies being received at once, across all requests. A request takes its
 * declared length (or the body limit, when it is sent chunked; twice that when it must be
 * decompressed) before a byte is read, and gives it back when its body is read; one that does
 * not fit is answered 503 `server_busy` at once and its connection closed. 64 uploads of a full
 * 1 MiB at a time. (Default: 64 MiB)
 */
export const MAX_READING_BYTES = 64 * 1024 * 1024;

/**
 * Bytes of accepted events waiting for their commit. Past it (the writer is far behind: a slow
 * disk, a lock held elsewhere) a new event is answered 503 `log_unavailable` at once instead of
 * queueing, and HuskyVoice retries it later. (Default: 16 MiB)
 */
export const MAX_COMMIT_WAIT_BYTES = 16 * 1024 * 1024;

/**
 * A commit that has waited this long for the writer means the writer is stuck (another process
 * holds the write lock; the writer waits for it up to the busy timeout, 5 s). Meanwhile new
 * events are answered 503 `log_unavailable` at once instead of queueing behind it. A commit
 * takes milliseconds. (Default: 1 s)
 */
export const COMMIT_STALL_MS = 1_000;

/**
 * How long a connection stays open after an answer that left the request's body unread (413,
 * 503 `server_busy`): the answer and then a FIN go out at once, and what the client still
 * sends is read and dropped meanwhile, so closing does not reset the connection before the
 * client has read the answer. Ends earlier when the client closes its side. (Default: 2 s)
 */
export const LINGER_MS = 2_000;

/**
 * A budget of bytes shared by concurrent requests. `take` either reserves bytes or says no; a
 * reservation is given back once, by the function `take` returned. One reservation always fits
 * when nothing else holds any, so a limit below one request's size cannot refuse everything.
 */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes reserved now. */
  get inUse(): number {
    return this.used;
  }

  /** Reserves `bytes` and returns how to give them back, or null when they do not fit. */
  take(bytes: number): (() => void) | null {
    if (this.used > 0 && this.used + bytes > this.limit) return null;
    this.used += bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= bytes;
    };
  }
}
