import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The common core of the fakes: a node:http server on 127.0.0.1 (port 0) that records every
 * request and plays injected faults before the fake's own handler answers.
 */

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The raw body as text (what a signature covers). */
  rawBody: string;
  /** JSON or form-decoded body; `rawBody` when neither parses. */
  body: unknown;
  /** Set when the client closed the connection before an answer (a hung request it gave up on). */
  abandoned?: true;
  /** Which connection it came on: 1 for the server's first, counted across `reset`. */
  connection: number;
}

/** What to answer instead of the fake's normal behaviour. */
export type Fault =
  /** An HTTP status; `retryAfter` becomes the Retry-After header (seconds or an HTTP date). */
  | { status: number; retryAfter?: number | string; body?: unknown; headers?: Record<string, string> }
  /** Never answer: the request hangs until the client gives up or the fake closes. */
  | { hang: true }
  /** Close the socket without an answer. */
  | { close: true }
  /** Slack only: 200 `{ok:false, error}`. */
  | { slackError: string };

export interface FaultOptions {
  /** Only requests whose path matches (a substring or a RegExp). Default: any. */
  path?: string | RegExp;
  /** How many matching requests get the fault. (Default: 1) */
  times?: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: RecordedRequest) => Reply;

/** Decides, per request, whether to inject a fault (soak tests: random 429s, 500s, hangs). */
export type Chaos = (req: RecordedRequest) => Fault | undefined;

export interface FakeServerOptions {
  /** Keep every request in `requests`. A long soak turns it off to keep memory flat. (Default: true) */
  record?: boolean;
}

/** What every fake offers besides its own API: the recorded requests, faults, reset, close. */
export interface FakeControls {
  readonly requests: RecordedRequest[];
  failNext(fault: Fault, options?: FaultOptions): void;
  /** Random faults, decided per request (see `Chaos`); `null` turns them off. */
  chaos(pick: Chaos | null): void;
  /** Forget recorded requests, pending faults, and what the fake stored. */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeServer extends FakeControls {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** Connections accepted since the start, and those still open (keep-alive tests). */
  connections(): FakeConnections;
}

export interface FakeConnections {
  opened: number;
  open: number;
}

interface PendingFault {
  fault: Fault;
  path: string | RegExp | undefined;
  left: number;
}

/**
 * Listens on 127.0.0.1 on a free port, keeping every open socket so a close can end them at
 * once (a fake must not keep a test waiting on keep-alive). Returns the port and that set.
 */
export async function listenLocal(server: Server): Promise<{ port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, sockets };
}

export async function startFakeServer(handler: Handler, options: FakeServerOptions = {}): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  let faults: PendingFault[] = [];
  let chaos: Chaos | null = null;

  const numbers = new WeakMap<Socket, number>();
  const server = createServer((req, res) => {
    void readBody(req).then((rawBody) => {
      const recorded = record(req, rawBody, numbers.get(req.socket) ?? 0);
      if (options.record !== false) requests.push(recorded);
      const fault = takeFault(faults, recorded.path) ?? chaos?.(recorded);
      if (!fault) return send(res, handler(recorded));
      if ('hang' in fault) return void res.on('close', () => (recorded.abandoned = true));
      if ('close' in fault) return void req.socket.destroy();
      if ('slackError' in fault) return send(res, { status: 200, body: { ok: false, error: fault.slackError } });
      const headers = { ...fault.headers };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      send(res, { status: fault.status, body: fault.body ?? { error: `injected ${fault.status}` }, headers });
    });
  });
  let opened = 0;
  server.on('connection', (socket: Socket) => numbers.set(socket, (opened += 1)));
  const { port, sockets } = await listenLocal(server);

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    connections: () => ({ opened, open: sockets.size }),
    failNext(fault, only = {}) {
      faults.push({ fault, path: only.path, left: only.times ?? 1 });
    },
    chaos(pick) {
      chaos = pick;
    },
    reset() {
      requests.length = 0;
      faults = [];
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function takeFault(faults: PendingFault[], path: string): Fault | undefined {
  const pending = faults.find((f) => f.left > 0 && matches(f.path, path));
  if (!pending) return undefined;
  pending.left -= 1;
  return pending.fault;
}

function matches(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string' ? path.includes(pattern) : pattern.test(path);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function record(req: IncomingMessage, rawBody: string, connection: number): RecordedRequest {
  const url = new URL(req.url ?? '/', 'http://fake');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    rawBody,
    body: parseBody(headers['content-type'] ?? '', rawBody),
    connection,
  };
}

function parseBody(contentType: string, raw: string): unknown {
  if (raw === '') return undefined;
  if (contentType.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const isJson = reply.body !== undefined && typeof reply.body !== 'string';
  const headers: Record<string, string> = { ...reply.headers };
  if (isJson && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  res.writeHead(reply.status, headers);
  res.end(reply.body === undefined ? undefined : isJson ? JSON.stringify(reply.body) : (reply.body as string));
}
