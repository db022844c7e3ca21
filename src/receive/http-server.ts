import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DEFAULTS } from '../config/defaults.js';
import { trackConnections } from './close-http.js';

export interface HttpServerOptions {
  /** Time to receive a request, headers and body. (Default: `DEFAULTS.http.requestTimeoutMs`) */
  requestTimeoutMs?: number;
}

/**
 * The relay's HTTP server, its timeouts set for what sits in front of it.
 *
 * A reverse proxy keeps idle connections to the relay open for reuse (Caddy 2 min, nginx's
 * upstream keepalive 60 s). Node closes them after 5 s by default, and a proxy that sends a
 * POST into a connection just closed answers 502 without retrying it, so idle connections stay
 * open `DEFAULTS.http.keepAliveMs`, longer than either proxy keeps them: the proxy is the one that closes.
 *
 * Slow clients are bounded apart from that. Since Node 18, `headersTimeout` and
 * `requestTimeout` are checked (every `connectionsCheckingInterval`) only for connections
 * receiving a request: from a connection's start until its first request has been received,
 * then from the first byte of each next request until its body ends (node_http_parser.cc,
 * `ConnectionsList::Expired` looks at active connections only). A keep-alive connection
 * waiting between requests is not active, so `DEFAULTS.http.requestTimeoutMs` (30 s) ends a trickled body
 * or header without ever ending an idle connection a proxy keeps. (Before Node 18 the header
 * timeout ran on idle connections too, which is why it once had to exceed the keep-alive.)
 * A connection a proxy opens and leaves without a first request is closed after 30 s.
 * Its graceful stop is `closeHttp` (close-http.ts).
 */
export function createHttpServer(handler: RequestListener, options: HttpServerOptions = {}): Server {
  const timeout = options.requestTimeoutMs ?? DEFAULTS.http.requestTimeoutMs;
  const server = createServer({
    keepAliveTimeout: DEFAULTS.http.keepAliveMs,
    requestTimeout: timeout,
    headersTimeout: timeout,
    connectionsCheckingInterval: Math.min(DEFAULTS.http.timeoutCheckMs, Math.max(50, Math.floor(timeout / 4))),
  });
  trackConnections(server); // before the handler: an answer begun once the stop began says Connection: close
  server.on('request', handler);
  server.on('clientError', answerClientError);
  return server;
}

/** What a request Node refused before it reached the app is answered: status and error code. */
const CLIENT_ERRORS: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'payload_too_large'],
};

/**
 * Node's own answer to a request it refuses (a timeout, a malformed request), in JSON like every
 * other answer of the relay, then the connection closes. As Node does, an answer is written only
 * if no answer has started on this connection; otherwise it is just closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const [status, code] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'bad_request'];
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: code });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // destroyed (as Node's own handler does) once the answer is out, not left to linger: a request
  // past its timeout must not complete after all and be handled (the 408 said it was not)
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

/**
 * Closes a connection whose client may still be sending (its body was refused unread): FIN
 * after what is written, then wait up to `DEFAULTS.http.lingerMs` for the client to close its side before
 * destroying the socket. Destroying at once would reset the connection over the unread bytes,
 * and a reset can reach the client before it has read the answer.
 */
function lingeringClose(socket: Duplex): void {
  if (socket.destroyed) return;
  const linger = setTimeout(() => socket.destroy(), DEFAULTS.http.lingerMs);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.once('end', () => socket.destroy());
  socket.end();
}

/**
 * Makes Node close this connection by `lingeringClose` once the answer now being written is out,
 * instead of its own close (which destroys the socket as soon as its FIN is written). For an
 * answer sent with `Connection: close` while the request's body is unread.
 */
export function lingerAfterAnswer(socket: Socket): void {
  socket.destroySoon = () => lingeringClose(socket);
}
