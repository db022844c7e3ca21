import { listenLocal } from '../../testing/fakes/fake-server.js';
import { createServer, type IncomingMessage } from 'node:http';

/**
 * A webhook receiver that takes its time: each request is answered 200 after `delayMs`.
 * It counts requests in flight, so a test can see how many a sink has open at once.
 */
export interface SlowReceiver {
  /** `http://127.0.0.1:PORT/hook` */
  readonly url: string;
  /** `webhook-id` of every request, in arrival order. */
  readonly received: string[];
  /** `webhook-id` of every request answered. */
  readonly answered: string[];
  inFlight(): number;
  /** The most requests that were open at the same time. */
  maxInFlight(): number;
  close(): Promise<void>;
}

export async function startSlowReceiver(options: { delayMs: number }): Promise<SlowReceiver> {
  const received: string[] = [];
  const answered: string[] = [];
  let open = 0;
  let max = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      received.push(id);
      open += 1;
      max = Math.max(max, open);
      const timer = setTimeout(() => {
        timers.delete(timer);
        open -= 1;
        answered.push(id);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }, options.delayMs);
      timers.add(timer);
    });
  });
  const { port, sockets } = await listenLocal(server);
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answered,
    inFlight: () => open,
    maxInFlight: () => max,
    close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
