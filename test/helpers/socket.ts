import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface RawAnswerHead {
  status: number;
  headers: Record<string, string>;
  /** The body parsed as JSON, or the text when it is not JSON. */
  body: any;
}

/**
 * A TCP connection to the relay driven byte by byte: a client that sends headers or a body
 * slowly, never finishes, or keeps sending after the answer, as `rawRequest` cannot.
 *
 *   const c = await openConnection(relay.url);
 *   c.socket.write('POST /webhooks/husky HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{');
 *   expect((await c.answer).status).toBe(408);
 *   await c.closed;
 */
export interface RawConnection {
  socket: Socket;
  /** The first answer, once its head and its Content-Length of body have arrived. */
  answer: Promise<RawAnswerHead>;
  /** Resolves when the relay has closed the connection (or reset it). */
  closed: Promise<void>;
  /** True once `closed` has resolved. */
  isClosed(): boolean;
}

export async function openConnection(baseUrl: string): Promise<RawConnection> {
  const url = new URL(baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  let closed = false;
  // a reset while we still send is how a closed connection often shows
  socket.on('error', () => {});
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closedPromise.then(() => (closed = true));
  const answer = new Promise<RawAnswerHead>((resolve, reject) => {
    const tryParse = () => {
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return false;
      const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (received.length < end + 4 + length) return false;
      const text = received.subarray(end + 4, end + 4 + length).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: the text itself
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body });
      return true;
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      tryParse();
    });
    socket.once('close', () => {
      if (!tryParse()) reject(new Error(`closed without a complete answer (received ${JSON.stringify(received.toString('latin1').slice(0, 200))})`));
    });
  });
  answer.catch(() => {});
  return { socket, answer, closed: closedPromise, isClosed: () => closed };
}

/** The request head of a POST to the webhook route, with the given extra header lines. */
export function postHead(headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST /webhooks/husky HTTP/1.1\r\nHost: relay.test\r\n${lines.join('')}\r\n`;
}

/** Writes `bytes` and resolves once the socket has taken them (or it closed meanwhile). */
export function send(socket: Socket, bytes: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    const done = () => resolve();
    if (socket.write(bytes)) return done();
    socket.once('drain', done);
    socket.once('close', done);
  });
}
