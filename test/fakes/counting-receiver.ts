import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A real HTTP server on 127.0.0.1 that counts the connections it is given (keep-alive tests). */
export interface CountingReceiver {
  /** `http://127.0.0.1:PORT/hook` */
  url: string;
  /** Every connection the server accepted, open or closed. */
  connections: Socket[];
  /** Connections still open. */
  open(): number;
  /** Requests received. */
  requests: number;
  close(): Promise<void>;
}

/**
 * Starts one. `handle` answers each request once its body is in (default: 200 "ok"); idle
 * connections are kept 30 s, so only the client closes them within a test.
 */
export async function startCountingReceiver(
  handle: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end('ok'),
): Promise<CountingReceiver> {
  const connections: Socket[] = [];
  const receiver = { connections, requests: 0 } as CountingReceiver;
  const server: Server = createServer((req, res) => {
    receiver.requests += 1;
    req.resume();
    req.on('end', () => handle(req, res));
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.open = () => connections.filter((s) => !s.destroyed).length;
  receiver.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return receiver;
}
